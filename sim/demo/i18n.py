"""The page's words in English and Simplified Chinese.

``tr(key, lang, **fill)`` gives a label; every key has both languages (tested). Feed
lines are built by :func:`feed_line` from language-neutral :class:`~sim.demo.engine.FeedEvent`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LANGS", "TEXT", "clock", "feed_line", "item_label", "state_label", "tr"]

LANGS = ("en", "zh")

TEXT: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------------ page
    "title": {"en": "qunsim: information in clinicians' chat groups", "zh": "qunsim：医生工作群里的信息传播"},
    "subtitle": {
        "en": "{scenario} · {n} clinicians · seed {seed}",
        "zh": "{scenario} · {n} 名医务人员 · 随机种子 {seed}",
    },
    "lang": {"en": "中文", "zh": "English"},
    "tab.live": {"en": "Live", "zh": "实时"},
    "tab.many": {"en": "Many seeds", "zh": "多次运行"},
    "tab.lessons": {"en": "Lessons", "zh": "课程"},
    "tab.export": {"en": "Export", "zh": "导出"},
    "btn.play": {"en": "Play", "zh": "运行"},
    "btn.pause": {"en": "Pause", "zh": "暂停"},
    "btn.step": {"en": "Step", "zh": "单步"},
    "btn.reset": {"en": "Reset", "zh": "重置"},
    "btn.run_many": {"en": "Run {n} seeds of each arm", "zh": "每组运行 {n} 个随机种子"},
    "btn.load_lesson": {"en": "Load this lesson's settings", "zh": "载入本课设置"},
    "speed": {"en": "Speed (hours per tick)", "zh": "速度（每次刷新推进的小时数）"},
    "help.speed": {
        "en": "Simulated time per tick: one press of Step, or one refresh while playing.",
        "zh": "每一步推进的模拟时间：按一次“单步”，或运行时每刷新一次。",
    },
    "seed": {"en": "Seed", "zh": "随机种子"},
    "help.seed": {
        "en": "The same seed and settings always give the same run.",
        "zh": "相同的种子和设置总是得到相同的结果。",
    },
    "preset": {"en": "Preset", "zh": "预设"},
    "settings": {"en": "Settings (apply on Reset)", "zh": "设置（按“重置”后生效）"},
    "settings_changed": {
        "en": "Settings changed: press Reset to start a new run with them.",
        "zh": "设置已更改：按“重置”用新设置重新开始。",
    },
    "intervention": {"en": "Intervention arm", "zh": "干预组"},
    "help.intervention": {
        "en": "Run a second model on the same seed with one intervention switched on.",
        "zh": "用同一随机种子再运行一个模型，并启用一项干预。",
    },
    "start_day": {"en": "Intervention starts on day", "zh": "干预开始于第几天"},
    "none": {"en": "none (one arm)", "zh": "无（只有一组）"},
    "color_by": {"en": "Colour the network by", "zh": "网络颜色表示"},
    "arm.baseline": {"en": "Baseline", "zh": "基线组"},
    "arm.intervention": {"en": "Intervention: {name}", "zh": "干预组：{name}"},
    "day": {"en": "Day {t}", "zh": "第 {t} 天"},
    "clock": {"en": "day {d}, {h:02d}:00", "zh": "第 {d} 天 {h:02d}:00"},
    "finished": {"en": "end of run", "zh": "运行结束"},
    "network.title": {"en": "Who is in which group", "zh": "谁在哪个群"},
    "network.legend_groups": {"en": "□ a chat group (lines: its members)", "zh": "□ 一个工作群（连线：群成员）"},
    "network.legend_posts": {"en": "thick line: a post in the last tick", "zh": "粗线：刚刚发出的消息"},
    "tier_shapes": {"en": "● primary  ▲ secondary  ◆ tertiary", "zh": "● 基层  ▲ 二级  ◆ 三级"},
    "curves.guideline": {
        "en": "{Item} by tier: aware (solid), adopted (dashed)",
        "zh": "{item}按医院级别：知晓（实线）与采纳（虚线）",
    },
    "curves.rumor": {
        "en": "{Item} by tier: believe (solid), hold the correction (dashed)",
        "zh": "{item}按医院级别：相信（实线）与接受辟谣（虚线）",
    },
    "axis.day": {"en": "day", "zh": "天"},
    "axis.share_tier": {"en": "share of the tier", "zh": "占该级别比例"},
    "axis.share_all": {"en": "share of all clinicians", "zh": "占全部医务人员比例"},
    "axis.hours": {"en": "hours since the case arrived", "zh": "病例出现后的小时数"},
    "axis.not_diagnosed": {"en": "share not yet diagnosed", "zh": "尚未确诊比例"},
    "km.title": {
        "en": "Time to diagnosis (Kaplan–Meier, open cases censored)",
        "zh": "确诊所需时间（Kaplan–Meier 曲线，未结案例删失）",
    },
    "km.none": {"en": "No diagnostic cases yet.", "zh": "尚无诊断病例。"},
    "km.off": {"en": "The diagnosis process is switched off.", "zh": "诊断过程已关闭。"},
    "diff.title": {"en": "Difference, intervention − baseline: {what}", "zh": "差值（干预组 − 基线组）：{what}"},
    "diff.none": {"en": "Switch an intervention on to compare two arms.", "zh": "启用一项干预即可比较两组。"},
    "mark.start": {"en": "intervention", "zh": "干预开始"},
    "feed.title": {"en": "What just happened", "zh": "刚刚发生了什么"},
    "feed.empty": {"en": "Nothing yet: press Step or Play.", "zh": "暂无动态：请按“单步”或“运行”。"},
    # monitors
    "mon.day": {"en": "time", "zh": "时间"},
    "mon.aware": {"en": "aware", "zh": "知晓"},
    "mon.adopted": {"en": "adopted", "zh": "采纳"},
    "mon.believes": {"en": "believe the rumor", "zh": "相信谣言"},
    "mon.corrected": {"en": "hold the correction", "zh": "接受辟谣"},
    "mon.half": {"en": "days to 50% aware", "zh": "半数知晓所需天数"},
    "mon.peak": {"en": "peak believers", "zh": "相信者峰值"},
    "mon.cases": {"en": "cases / diagnosed", "zh": "病例 / 已确诊"},
    "mon.median": {"en": "median hours to diagnosis", "zh": "确诊时间中位数（小时）"},
    "mon.not_yet": {"en": "not yet", "zh": "尚未"},
    # many seeds
    "many.title": {
        "en": "{n} seeds of each arm: what one run cannot tell you",
        "zh": "每组 {n} 个随机种子：单次运行说明不了什么",
    },
    "many.explain": {
        "en": "Each run is one possible history. The band shows where the middle 50% (dark) and 80% (light) "
        "of runs were; the line is the median; the dashed line is the run on this page.",
        "zh": "每次运行都只是一种可能的历史。深色带是中间 50% 的运行所在范围，浅色带是 80%；实线是中位数；"
        "虚线是本页当前的这次运行。",
    },
    "many.progress": {"en": "{done} of {total} runs done", "zh": "已完成 {done} / {total} 次运行"},
    "many.queued": {"en": "waiting for the server's two workers…", "zh": "等待服务器的两个计算进程……"},
    "many.idle": {
        "en": "Press the button to run the many-seed view (half a minute to a minute).",
        "zh": "按下按钮运行多种子视图（约半分钟到一分钟）。",
    },
    "many.takeoff": {"en": "Take-off: {rule}", "zh": "“爆发”的定义：{rule}"},
    "many.rule_guideline": {
        "en": "the guideline reached half of all clinicians by the end",
        "zh": "到运行结束时，半数医务人员已知晓该指南",
    },
    "many.rule_rumor": {
        "en": "at some time at least 20% of all clinicians believed the rumor",
        "zh": "某一时刻至少 20% 的医务人员相信该谣言",
    },
    "many.prob": {
        "en": "{arm}: took off in {k} of {n} runs = {p} (95% Wilson interval {lo}–{hi})",
        "zh": "{arm}：{n} 次中有 {k} 次爆发 = {p}（95% Wilson 区间 {lo}–{hi}）",
    },
    "many.fan_guideline": {
        "en": "Share aware of '{item}' (all clinicians)",
        "zh": "知晓“{item}”的比例（全部医务人员）",
    },
    "many.fan_rumor": {"en": "Share believing '{item}' (all clinicians)", "zh": "相信“{item}”的比例（全部医务人员）"},
    "many.item": {"en": "Outcome", "zh": "观察指标"},
    "many.seconds": {"en": "{s:.1f} s on the server", "zh": "服务器用时 {s:.1f} 秒"},
    "many.error": {"en": "The many-seed run failed: {err}", "zh": "多种子运行失败：{err}"},
    "many.too_big": {
        "en": "The many-seed view runs up to {n} clinicians; lower the number and press Reset.",
        "zh": "多种子视图最多支持 {n} 名医务人员；请减少人数并按“重置”。",
    },
    "legend.median": {"en": "median", "zh": "中位数"},
    "legend.this_run": {"en": "this page's run", "zh": "本页运行"},
    # export
    "export.png": {"en": "Figures (PNG)", "zh": "图表（PNG）"},
    "export.csv": {"en": "Time series (CSV)", "zh": "时间序列（CSV）"},
    "export.toml_base": {"en": "Baseline scenario (TOML)", "zh": "基线组情景文件（TOML）"},
    "export.toml_iv": {"en": "Intervention scenario (TOML)", "zh": "干预组情景文件（TOML）"},
    "export.explain": {
        "en": "A scenario file reproduces this page exactly: `qunsim run {file}` gives the same numbers "
        "for the same seed. Downloads are made in memory; the server writes no files.",
        "zh": "情景文件可以完全重现本页：`qunsim run {file}` 在相同种子下得到相同的数值。"
        "下载内容在内存中生成，服务器不写入任何文件。",
    },
    # lessons
    "lesson.pick": {"en": "Lesson", "zh": "课程"},
    "lesson.what": {"en": "What it is", "zh": "这是什么"},
    "lesson.how": {"en": "How to use it", "zh": "如何使用"},
    "lesson.notice": {"en": "Things to notice", "zh": "值得注意"},
    "lesson.try": {"en": "Things to try", "zh": "可以尝试"},
    "lesson.predict": {"en": "Predict before you run", "zh": "运行前先预测"},
    "lesson.debrief": {"en": "Debrief", "zh": "课后讨论"},
    # controls: label and one-line help
    "ctl.n_clinicians": {"en": "Clinicians", "zh": "医务人员人数"},
    "help.n_clinicians": {
        "en": "How many clinicians the model has (more is slower).",
        "zh": "模型中的医务人员数量（越多越慢）。",
    },
    "ctl.duration": {"en": "Days to simulate", "zh": "模拟天数"},
    "help.duration": {"en": "How long one run lasts.", "zh": "一次运行持续多长时间。"},
    "ctl.literacy": {"en": "Information literacy (mean)", "zh": "信息素养（平均）"},
    "help.literacy": {
        "en": "How well clinicians judge a claim: it lowers a rumor's pull and speeds up checking.",
        "zh": "医务人员判断信息真伪的能力：降低谣言的吸引力，并加快核实。",
    },
    "ctl.guideline_seeds": {"en": "Guideline: first holders", "zh": "指南：最初持有者人数"},
    "help.guideline_seeds": {
        "en": "Clinicians at the tertiary hospital who receive the guideline first.",
        "zh": "最先收到指南的三级医院医务人员人数。",
    },
    "ctl.adoption_sources": {"en": "Guideline: colleagues needed to consider", "zh": "指南：考虑采纳前需要的同事人数"},
    "help.adoption_sources": {
        "en": "Different senders needed before a clinician considers adopting (1 = simple contagion).",
        "zh": "开始考虑采纳前需要从几位不同同事处看到（1 = 简单传染）。",
    },
    "ctl.adopt_prob": {"en": "Guideline: daily chance of adopting", "zh": "指南：每天采纳的概率"},
    "help.adopt_prob": {
        "en": "Each day, the chance that a clinician considering it (enough colleagues have sent it) adopts it.",
        "zh": "足够多同事转发后开始考虑指南的医务人员，每天采纳它的概率。",
    },
    "ctl.rumor_credibility": {"en": "Rumor: credibility", "zh": "谣言：可信度"},
    "help.rumor_credibility": {
        "en": "How believable the rumor is (−1 absurd … +1 very plausible).",
        "zh": "谣言看起来有多可信（−1 荒谬……+1 非常可信）。",
    },
    "ctl.correction_day": {"en": "Correction: posted on day", "zh": "辟谣：发布于第几天"},
    "help.correction_day": {
        "en": "When the public-health administrators post the official correction.",
        "zh": "公共卫生管理人员发布官方辟谣的时间。",
    },
    "ctl.correction_uptake": {"en": "Correction: uptake", "zh": "辟谣：接受程度"},
    "help.correction_uptake": {
        "en": "How readily a believer who reads the correction changes their mind.",
        "zh": "相信谣言的人读到辟谣后改变看法的容易程度。",
    },
    "ctl.moderation": {"en": "Moderators fact-check", "zh": "群管理员核查"},
    "help.moderation": {
        "en": "Group moderators check rumor posts, remove them and pin a correction.",
        "zh": "群管理员核查谣言帖子，删除并置顶辟谣。",
    },
    "ctl.diagnosis": {"en": "Diagnostic requests", "zh": "诊断求助"},
    "help.diagnosis": {
        "en": "Hard cases arrive and clinicians ask their groups and contacts for a diagnosis.",
        "zh": "疑难病例出现，医生向工作群和同事求助诊断。",
    },
    "ctl.group_answer_prob": {"en": "Diagnosis: a member answers", "zh": "诊断：群成员回答的概率"},
    "help.group_answer_prob": {
        "en": "Chance that a group member who reads a request answers it.",
        "zh": "读到求助的群成员回答的概率。",
    },
    # presets
    "preset.default": {"en": "the scenario as written", "zh": "情景文件原设置"},
    "preset.complex_contagion": {"en": "guideline needs 3 colleagues", "zh": "指南需要 3 位同事推荐"},
    "preset.simple_contagion": {"en": "guideline spreads like a virus", "zh": "指南像病毒一样传播"},
    "preset.believable_rumor": {"en": "believable rumor, weak correction", "zh": "可信的谣言，乏力的辟谣"},
    "preset.literate_clinicians": {"en": "highly literate clinicians", "zh": "信息素养很高的医务人员"},
    "preset.moderated_groups": {"en": "moderated groups", "zh": "有管理员核查的群"},
    # interventions
    "iv.broadcast_guideline": {"en": "official broadcast of the guideline", "zh": "官方推送指南"},
    "ivhelp.broadcast_guideline": {
        "en": "Public-health administrators post the guideline in all their groups.",
        "zh": "公共卫生管理人员在其所有群里发布指南。",
    },
    "iv.official_correction": {"en": "official correction campaign", "zh": "官方辟谣行动"},
    "ivhelp.official_correction": {
        "en": "Public-health administrators take up the correction and share it.",
        "zh": "公共卫生管理人员接受辟谣并广泛转发。",
    },
    "iv.literacy_training": {"en": "information-literacy training", "zh": "信息素养培训"},
    "ivhelp.literacy_training": {
        "en": "60% of clinicians gain 0.3 in information literacy.",
        "zh": "60% 的医务人员信息素养提高 0.3。",
    },
    "iv.moderation": {"en": "moderators start fact-checking", "zh": "群管理员开始核查"},
    "ivhelp.moderation": {
        "en": "From the start day, moderators remove rumor posts and pin corrections.",
        "zh": "从开始日起，管理员删除谣言帖并置顶辟谣。",
    },
    "iv.embed_specialists": {"en": "specialists join township groups", "zh": "专科医生加入基层群"},
    "ivhelp.embed_specialists": {
        "en": "A tertiary specialist joins each group of mostly primary-care members.",
        "zh": "每个以基层成员为主的群加入一名三级医院专科医生。",
    },
    "iv.reading_groups": {"en": "journal clubs", "zh": "读书会"},
    "ivhelp.reading_groups": {
        "en": "40% of doctors and nurses join new reading groups by specialty and region.",
        "zh": "40% 的医生和护士按专科和地区加入新的读书群。",
    },
    # states, kinds
    "state.unaware": {"en": "not heard", "zh": "未听说"},
    "state.aware": {"en": "aware", "zh": "知晓"},
    "state.aware_only": {"en": "aware, not adopted", "zh": "知晓未采纳"},
    "state.adopted": {"en": "adopted", "zh": "已采纳"},
    "state.believes": {"en": "believes", "zh": "相信"},
    "state.corrected": {"en": "holds the correction", "zh": "接受辟谣"},
    "state.doubts": {"en": "doubts", "zh": "怀疑"},
    "kind.guideline": {"en": "guideline", "zh": "指南"},
    "kind.rumor": {"en": "rumor", "zh": "谣言"},
    "kind.case_report": {"en": "case report", "zh": "病例报告"},
    "kind.correction": {"en": "correction", "zh": "辟谣"},
    "tier.primary": {"en": "primary", "zh": "基层"},
    "tier.secondary": {"en": "secondary", "zh": "二级"},
    "tier.tertiary": {"en": "tertiary", "zh": "三级"},
    # places and people (feed)
    "place.primary_rural": {"en": "township clinic", "zh": "乡镇卫生院"},
    "place.primary_city": {"en": "community clinic", "zh": "社区卫生服务中心"},
    "place.secondary_rural": {"en": "county hospital", "zh": "县医院"},
    "place.secondary_city": {"en": "district hospital", "zh": "区医院"},
    "place.tertiary_rural": {"en": "regional hospital", "zh": "地区医院"},
    "place.tertiary_city": {"en": "city hospital", "zh": "市三级医院"},
    "role.doctor": {"en": "doctor", "zh": "医生"},
    "role.nurse": {"en": "nurse", "zh": "护士"},
    "role.lab_technician": {"en": "lab technician", "zh": "检验技师"},
    "role.pharmacist": {"en": "pharmacist", "zh": "药师"},
    "role.public_health_admin": {"en": "public-health administrator", "zh": "公共卫生管理人员"},
    "who": {"en": "a {place} {role}", "zh": "一位{place}{role}"},
    "basis.alumni": {"en": "alumni", "zh": "校友"},
    "basis.cohort": {"en": "training-cohort", "zh": "进修同期"},
    "basis.specialty": {"en": "{specialty}", "zh": "{specialty}"},
    "basis.affiliate": {"en": "affiliate-hospital", "zh": "医联体"},
    "basis.surveillance": {"en": "surveillance-reporting", "zh": "疫情上报"},
    "basis.conference": {"en": "conference", "zh": "会议"},
    "basis.reading": {"en": "journal-club", "zh": "读书会"},
    "basis.abroad": {"en": "overseas colleagues'", "zh": "海外同行"},
    "basis.file": {"en": "chat", "zh": "工作"},
    "spec.general_medicine": {"en": "general medicine", "zh": "全科"},
    "spec.dermatology": {"en": "dermatology", "zh": "皮肤科"},
    "spec.surgery": {"en": "surgery", "zh": "外科"},
    "spec.chronic_illness": {"en": "chronic illness", "zh": "慢病"},
    "spec.sti": {"en": "STI", "zh": "性病"},
    "spec.oncology": {"en": "oncology", "zh": "肿瘤科"},
    "spec.infectious_disease": {"en": "infectious disease", "zh": "感染科"},
    "spec.pediatrics": {"en": "pediatrics", "zh": "儿科"},
    "spec.radiology": {"en": "radiology", "zh": "放射科"},
    "spec.laboratory": {"en": "laboratory", "zh": "检验科"},
    "spec.pharmacy": {"en": "pharmacy", "zh": "药学"},
    "spec.public_health": {"en": "public health", "zh": "公共卫生"},
    "case.dermatology": {"en": "a photo of a skin lesion", "zh": "一张皮损照片"},
    "case.radiology": {"en": "an X-ray image", "zh": "一张X光片"},
    "case.laboratory": {"en": "a specimen reading", "zh": "一份标本结果"},
    "case.other": {"en": "a hard {specialty} case", "zh": "一个疑难{specialty}病例"},
    "route.local": {"en": "on the spot", "zh": "当场"},
    "route.group": {"en": "a chat group", "zh": "工作群"},
    "route.contact": {"en": "a one-on-one message", "zh": "私聊"},
    "route.referral": {"en": "a referral", "zh": "转诊"},
    "route.none": {"en": "no route", "zh": "无"},
    # feed sentences
    "feed.info_seed": {"en": "The {item} reached {who} first.", "zh": "{who}最先收到了{item}。"},
    "feed.info_seed_correction": {
        "en": "The official correction of the {item} reached {who}.",
        "zh": "{who}收到了对{item}的官方辟谣。",
    },
    "feed.info_post": {"en": "{Who} posted the {item} in the {group} group.", "zh": "{who}在{group}群里转发了{item}。"},
    "feed.info_post_correction": {
        "en": "{Who} posted a correction of the {item} in the {group} group.",
        "zh": "{who}在{group}群里发布了对{item}的辟谣。",
    },
    "feed.info_pinned": {
        "en": "A moderator pinned a correction of the {item} in the {group} group.",
        "zh": "管理员在{group}群里置顶了对{item}的辟谣。",
    },
    "feed.info_removed": {
        "en": "A moderator removed a {item} post from the {group} group.",
        "zh": "管理员从{group}群里删除了一条{item}帖子。",
    },
    "feed.info_direct": {
        "en": "{Who} sent the {item} to a colleague one-on-one.",
        "zh": "{who}私聊把{item}发给了一位同事。",
    },
    "feed.info_direct_correction": {
        "en": "{Who} sent a correction of the {item} to a colleague.",
        "zh": "{who}私聊把对{item}的辟谣发给了一位同事。",
    },
    "feed.info_adopt": {"en": "{Who} adopted the {item}.", "zh": "{who}采纳了{item}。"},
    "feed.info_believe": {"en": "{Who} came to believe the {item}.", "zh": "{who}开始相信{item}。"},
    "feed.info_correct": {"en": "{Who} now holds the correction of the {item}.", "zh": "{who}接受了对{item}的辟谣。"},
    "feed.dx_ask": {"en": "{Who} asked colleagues about {case}.", "zh": "{who}就{case}向同事求助。"},
    "feed.dx_referral": {
        "en": "{Specialty} patient from a {place} was referred up.",
        "zh": "一位{place}的{specialty}患者被向上转诊。",
    },
    "feed.dx_diagnosed": {
        "en": "{Specialty} case from a {place} was diagnosed via {route} after {hours}{verdict}.",
        "zh": "一个{place}的{specialty}病例经{route}确诊，用时{hours}{verdict}。",
    },
    "verdict.right": {"en": " (right)", "zh": "（正确）"},
    "verdict.wrong": {"en": " (wrong)", "zh": "（错误）"},
    "hours": {"en": "{h:.0f} h", "zh": "{h:.0f} 小时"},
    "days": {"en": "{d:.1f} days", "zh": "{d:.1f} 天"},
}


def tr(key: str, lang: str = "en", **fill: Any) -> str:
    """The text of ``key`` in ``lang`` ("en" or "zh"), formatted with ``fill``."""
    entry = TEXT.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["en"]
    return text.format(**fill) if fill else text


def clock(t: float, lang: str) -> str:
    """Simulated time as 'day 3, 06:00' (days since the start and the hour of that day)."""
    hours = round(t * 24)
    return tr("clock", lang, d=hours // 24, h=hours % 24)


def state_label(state: str, lang: str) -> str:
    return tr(f"state.{state}", lang)


def item_label(name: str, kind: str, lang: str) -> str:
    """An item's name for people: its kind's word when the item is named after its kind."""
    if name == kind or name.lower() in ("guideline", "rumor", "case_report"):
        return tr(f"kind.{kind}", lang)
    return name


def _spec(name: str, lang: str) -> str:
    return tr(f"spec.{name}", lang) if f"spec.{name}" in TEXT else name.replace("_", " ")


def _article(word: str) -> str:
    """English "A" or "An" before ``word`` (an acronym by its letters' sound: "an STI");
    the English feed says "{Specialty} patient", the Chinese one needs no article."""
    if not word:
        return "A"
    vowel = word[0] in "AEIOUaeiou" or (word[:2].isupper() and word[0] in "AEFHILMNORSX")
    return "An" if vowel else "A"


def _place(tier: int, rural: bool, lang: str) -> str:
    from .engine import TIERS

    return tr(f"place.{TIERS[tier]}_{'rural' if rural else 'city'}", lang)


def _who(args: dict, lang: str) -> str:
    from .engine import ROLES

    return tr(
        "who",
        lang,
        place=_place(args["tier"], args.get("rural", False), lang),
        role=tr(f"role.{ROLES[args['role']]}", lang),
    )


def _group(args: dict, lang: str) -> str:
    from .engine import BASES, SPECIALTIES

    b = args.get("basis", -1)
    if b is None or b < 0 or b >= len(BASES):
        return tr("basis.file", lang)
    basis = BASES[b]
    spec = args.get("group_specialty", -1)
    spec_name = _spec(SPECIALTIES[spec], lang) if spec is not None and 0 <= spec < len(SPECIALTIES) else ""
    return tr(f"basis.{basis}", lang, specialty=spec_name)


def feed_line(event, lang: str = "en") -> str:
    """One readable sentence for a :class:`~sim.demo.engine.FeedEvent`."""
    a = event.args
    kind = event.kind
    if kind.startswith("info_"):
        item = item_label(a["item"], a["item_kind"], lang)
        key = f"feed.{kind}"
        if a.get("correction") and f"{key}_correction" in TEXT:
            key = f"{key}_correction"
        fill = {"item": item}
        if "tier" in a:
            who = _who(a, lang)
            fill["who"] = who
            fill["Who"] = who[:1].upper() + who[1:]
        fill["group"] = _group(a, lang)
        return tr(key, lang, **fill)
    if kind == "dx_ask":
        spec = a["specialty"]
        case = (
            tr(f"case.{spec}", lang) if f"case.{spec}" in TEXT else tr("case.other", lang, specialty=_spec(spec, lang))
        )
        who = _who(a, lang)
        return tr("feed.dx_ask", lang, who=who, Who=who[:1].upper() + who[1:], case=case)
    if kind == "dx_referral":
        return tr(
            "feed.dx_referral",
            lang,
            specialty=_spec(a["specialty"], lang),
            Specialty=_article(_spec(a["specialty"], lang)) + " " + _spec(a["specialty"], lang),
            place=_place(a["tier"], a.get("rural", False), lang),
        )
    if kind == "dx_diagnosed":
        h = a["hours"]
        dur = tr("hours", lang, h=h) if h < 48 else tr("days", lang, d=h / 24)
        verdict = "" if a.get("correct") is None else tr("verdict.right" if a["correct"] else "verdict.wrong", lang)
        return tr(
            "feed.dx_diagnosed",
            lang,
            specialty=_spec(a["specialty"], lang),
            Specialty=_article(_spec(a["specialty"], lang)) + " " + _spec(a["specialty"], lang),
            place=_place(a["tier"], a.get("rural", False), lang),
            route=tr(f"route.{a['route']}", lang),
            hours=dur,
            verdict=verdict,
        )
    return kind
