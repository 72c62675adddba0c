"""Guided lessons, in English and Simplified Chinese.

Each lesson follows the Info tab of a NetLogo model: what it is, how to use it, things to
notice, things to try; then a question to answer *before* running and questions for the
debrief. ``settings`` are control values (see :mod:`sim.demo.controls`) loaded with the
lesson; ``intervention``/``start_day`` set up the second arm; ``item`` picks what the
network is coloured by; ``tab`` the view to open (0 live, 1 many seeds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LESSONS", "SECTIONS", "Lesson", "lesson"]

SECTIONS = ("what", "how", "notice", "try", "predict", "debrief")


@dataclass(frozen=True)
class Lesson:
    key: str
    title: dict[str, str]
    what: dict[str, str]
    how: dict[str, str]
    notice: dict[str, list[str]]
    try_: dict[str, list[str]]
    predict: dict[str, str]
    debrief: dict[str, list[str]]
    settings: dict[str, Any] = field(default_factory=dict)
    intervention: str | None = None
    start_day: float = 5.0
    item_kind: str = "guideline"
    tab: int = 0

    def section(self, name: str, lang: str) -> str | list[str]:
        value = getattr(self, "try_" if name == "try" else name)
        return value.get(lang) or value["en"]


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        key="guideline_journey",
        title={"en": "1. A guideline's journey to a township clinic", "zh": "1. 一份指南如何传到乡镇卫生院"},
        what={
            "en": "A new clinical guideline arrives at the city's tertiary hospital. Nobody sends it to the township "
            "clinics on purpose: it travels only because clinicians forward it in the chat groups they share — "
            "alumni groups, specialty circles, the affiliate-hospital group. Adopting it is harder than hearing "
            "about it: a clinician changes practice only after several different colleagues have sent it.",
            "zh": "一份新的临床指南先到达市里的三级医院。没有人专门把它发给乡镇卫生院：它之所以能传过去，只是因为医务人员在"
            "共同所在的工作群里转发——校友群、专科群、医联体群。采纳比知晓更难：只有多位不同的同事都发过，医生才会改变做法。",
        },
        how={
            "en": "Colour the network by the guideline. Press Step a few times, then Play. Watch the blue nodes (aware) "
            "and dark-blue nodes (adopted) and the curves by tier: primary is the township and community level.",
            "zh": "把网络颜色设为“指南”。先按几次“单步”，再按“运行”。观察浅蓝（知晓）和深蓝（采纳）的节点，以及按医院级别"
            "画出的曲线：基层即乡镇卫生院和社区。",
        },
        notice={
            "en": [
                "Which groups carry the guideline out of the tertiary hospital first?",
                "How long after the tertiary level does the primary level start to hear?",
                "Awareness rises fast; adoption lags. Where is the gap widest?",
                "The monitor 'days to 50% aware' — does it ever arrive?",
            ],
            "zh": [
                "哪些群最先把指南带出三级医院？",
                "三级医院知晓后，基层要过多久才开始听说？",
                "知晓上升很快，采纳却滞后。哪一级的差距最大？",
                "“半数知晓所需天数”这个指标最终出现了吗？",
            ],
        },
        try_={
            "en": [
                "Set 'colleagues needed to adopt' to 1 (simple contagion), Reset, and run again.",
                "Give the guideline more first holders.",
                "Switch on the intervention 'official broadcast of the guideline' from day 3.",
            ],
            "zh": [
                "把“采纳前需要的同事人数”设为 1（简单传染），重置后再运行。",
                "增加指南的最初持有者人数。",
                "启用干预“官方推送指南”，从第 3 天开始。",
            ],
        },
        predict={
            "en": "Before you press Play: by day 30, what share of primary-level clinicians will have adopted the guideline? "
            "Write a number down.",
            "zh": "按“运行”之前：到第 30 天，基层医务人员中采纳指南的比例会是多少？请先写下一个数字。",
        },
        debrief={
            "en": [
                "Why does adoption need several sources while awareness needs one? What does that mean for a campaign?",
                "Which clinicians were the bridges between the city and the county? Could a policy reach them directly?",
                "Compare your prediction with the run. What did you assume that the model does not?",
            ],
            "zh": [
                "为什么知晓只要一个来源，采纳却要多个？这对推广工作意味着什么？",
                "哪些医务人员是城市与县之间的桥梁？政策能否直接触达他们？",
                "把你的预测与运行结果比较。你做了哪些模型没有做的假设？",
            ],
        },
        settings={},
        item_kind="guideline",
    ),
    Lesson(
        key="rumor_correction",
        title={"en": "2. A rumor and its correction", "zh": "2. 一个谣言及其辟谣"},
        what={
            "en": "On day 2 a false claim starts in the rural county. Believers forward it; people with good information "
            "literacy are harder to convince and sometimes check it. A week later the county's public-health "
            "administrators post an official correction, which spreads through the same groups.",
            "zh": "第 2 天，一个不实说法在农村县里出现。相信的人会转发；信息素养高的人更难被说服，有时还会去核实。"
            "一周后，县里的公共卫生管理人员发布官方辟谣，辟谣也通过同样的群传播。",
        },
        how={
            "en": "Colour the network by the rumor: orange-red believes, green holds the correction, orange doubts. "
            "Play to day 9 and pause; then watch what the correction does.",
            "zh": "把网络颜色设为“谣言”：橙红色表示相信，绿色表示接受辟谣，橙色表示怀疑。运行到第 9 天暂停，然后观察辟谣的作用。",
        },
        notice={
            "en": [
                "How many clinicians believe the rumor before the correction appears?",
                "Does the correction reach the same people the rumor reached?",
                "Some believers never change their mind (continued influence). Can you spot them?",
            ],
            "zh": [
                "辟谣出现之前，有多少人相信谣言？",
                "辟谣能否到达谣言到达过的同一批人？",
                "有些相信者始终不改变看法（持续影响效应）。你能找到他们吗？",
            ],
        },
        try_={
            "en": [
                "Post the correction earlier (day 4) or later (day 15).",
                "Load the preset 'believable rumor, weak correction'.",
                "Switch on 'moderators start fact-checking' as the intervention from day 3 and compare the arms.",
            ],
            "zh": [
                "把辟谣提前（第 4 天）或推迟（第 15 天）。",
                "载入预设“可信的谣言，乏力的辟谣”。",
                "把“群管理员开始核查”设为干预，从第 3 天开始，比较两组。",
            ],
        },
        predict={
            "en": "If the correction came on day 4 instead of day 9, would the peak number of believers halve, "
            "fall a little, or stay the same?",
            "zh": "如果辟谣在第 4 天而不是第 9 天发布，相信者的峰值会减半、略有下降，还是不变？",
        },
        debrief={
            "en": [
                "Why is timing so important for a correction?",
                "Who should post a correction so that it is believed? (Look at 'credibility' in docs/model.md.)",
                "What is the cost of moderation, and who pays it?",
            ],
            "zh": [
                "为什么辟谣的时机如此重要？",
                "谁来发布辟谣才更容易被相信？（参见 docs/model.md 中的“可信度”。）",
                "群管理核查的代价是什么，由谁承担？",
            ],
        },
        settings={},
        intervention="moderation",
        start_day=3.0,
        item_kind="rumor",
    ),
    Lesson(
        key="hard_case",
        title={"en": "3. A hard case's path to a diagnosis", "zh": "3. 一个疑难病例的确诊之路"},
        what={
            "en": "Every day hard cases arrive — most at township clinics, which have the least equipment and expertise. "
            "The treating clinician first tries alone, then posts photos in a chat group, then messages a contact "
            "higher up, and finally refers the patient, who travels and waits for an appointment.",
            "zh": "每天都有疑难病例出现——大多在设备和专业能力最弱的乡镇卫生院。接诊医生先自己判断，然后把照片发到工作群，"
            "再私聊上级医院的熟人，最后才转诊；患者需要奔波并排队等候。",
        },
        how={
            "en": "Keep 'Diagnostic requests' on. Play and read the feed: 'asked colleagues about a photo of a skin "
            "lesion', 'diagnosed via a chat group after 3 h'. The Kaplan–Meier curve shows the share still "
            "waiting for a diagnosis after each number of hours.",
            "zh": "保持“诊断求助”开启。运行并阅读动态：“就一张皮损照片向同事求助”“经工作群确诊，用时 3 小时”。"
            "Kaplan–Meier 曲线显示经过若干小时后仍在等待确诊的比例。",
        },
        notice={
            "en": [
                "How many cases are solved in a chat group, and how many need a referral?",
                "Where does the curve drop fast, and where does it flatten?",
                "Are township cases slower than city cases?",
            ],
            "zh": [
                "有多少病例在工作群里解决，有多少需要转诊？",
                "曲线在哪里下降得快，在哪里变平？",
                "乡镇的病例是否比城市的慢？",
            ],
        },
        try_={
            "en": [
                "Lower 'a member answers' to 0.05, Reset and run.",
                "Switch on 'specialists join township groups' from day 5.",
                "Switch diagnostic requests off: which curves disappear?",
            ],
            "zh": [
                "把“群成员回答的概率”降到 0.05，重置后运行。",
                "启用“专科医生加入基层群”，从第 5 天开始。",
                "关闭诊断求助：哪些曲线消失了？",
            ],
        },
        predict={
            "en": "What share of hard cases do you expect to be diagnosed within one day?",
            "zh": "你预计有多少比例的疑难病例能在一天内确诊？",
        },
        debrief={
            "en": [
                "Chat-group consultation is informal and unpaid. What happens when the experts are busy or burnt out?",
                "Who carries the risk when a photo is misread?",
                "What would formalising this consultation change?",
            ],
            "zh": [
                "工作群会诊是非正式且无报酬的。专家忙碌或倦怠时会怎样？",
                "照片被误读时，风险由谁承担？",
                "把这种会诊正式化会改变什么？",
            ],
        },
        settings={"diagnosis": True},
        intervention="embed_specialists",
        start_day=5.0,
        item_kind="guideline",
    ),
    Lesson(
        key="compare_interventions",
        title={"en": "4. Comparing interventions", "zh": "4. 比较干预措施"},
        what={
            "en": "A policy maker has one budget and several ideas. The page runs two models on the same seed — the same "
            "clinicians, the same groups, the same luck — one without and one with the intervention, so any "
            "difference after the start day is the intervention's doing in this run.",
            "zh": "决策者只有一笔预算，却有好几个想法。本页用同一随机种子运行两个模型——同样的医务人员、同样的群、同样的运气——"
            "一个没有干预，一个有干预。因此开始日之后的任何差别，都是这次运行中干预造成的。",
        },
        how={
            "en": "Choose an intervention and its start day in the panel, press Reset, then Play. The dotted line marks the "
            "start; the difference chart shows intervention minus baseline.",
            "zh": "在面板中选择一项干预及其开始日，按“重置”后运行。虚线标出开始时间；差值图显示干预组减去基线组。",
        },
        notice={
            "en": [
                "Before the start day the two arms are identical. Why?",
                "After the start, how soon does the difference appear?",
                "Does the intervention help the tier you care about?",
            ],
            "zh": [
                "开始日之前两组完全相同。为什么？",
                "开始之后，差别多快出现？",
                "干预是否帮到了你关心的那一级医院？",
            ],
        },
        try_={
            "en": [
                "Compare 'official broadcast', 'information-literacy training' and 'journal clubs' for the guideline.",
                "Start the same intervention on day 1 and on day 15.",
                "Change the seed: is the difference the same?",
            ],
            "zh": [
                "针对指南，比较“官方推送”“信息素养培训”和“读书会”。",
                "把同一干预分别放在第 1 天和第 15 天开始。",
                "换一个随机种子：差别还一样吗？",
            ],
        },
        predict={
            "en": "Which of the three interventions will make the most primary-level clinicians aware of the guideline by day 20?",
            "zh": "三项干预中，哪一项到第 20 天能让最多的基层医务人员知晓指南？",
        },
        debrief={
            "en": [
                "One seed showed a difference. Is that evidence? (Go to lesson 5.)",
                "Which intervention is cheapest per clinician reached?",
                "What would you need to know before recommending one?",
            ],
            "zh": [
                "一个种子显示了差别。这算证据吗？（见第 5 课。）",
                "按每触达一名医务人员计算，哪项干预最便宜？",
                "在推荐某项干预之前，你还需要了解什么？",
            ],
        },
        settings={},
        intervention="broadcast_guideline",
        start_day=5.0,
        item_kind="guideline",
    ),
    Lesson(
        key="small_numbers",
        title={"en": "5. The lottery of small numbers", "zh": "5. 小数字的彩票"},
        what={
            "en": "With two first holders in a network of 150, chance decides a lot: in one run the guideline dies out with "
            "a handful of people aware; in the next it reaches nearly everyone. The many-seed view runs 50 seeds "
            "of each arm and shows the spread, and how often each arm 'takes off'.",
            "zh": "在 150 人的网络中只有两位最初持有者，运气影响很大：一次运行中指南只被少数人知道就消失了；另一次却几乎传遍所有人。"
            "多种子视图每组运行 50 个种子，展示结果的分布，以及每组“爆发”的频率。",
        },
        how={
            "en": "Run seeds 1, 2 and 3 on the live page and note the final share aware. Then open 'Many seeds' and press "
            "the button. The band holds the middle of the runs; the dashed line is your page's run.",
            "zh": "在实时页面依次运行种子 1、2、3，记下最终知晓比例。然后打开“多次运行”并按下按钮。色带覆盖大多数运行；虚线是本页的运行。",
        },
        notice={
            "en": [
                "How different are single runs with the same settings?",
                "How wide is the band, and when is it widest?",
                "The take-off probability has an interval: how sure are we after 50 runs?",
            ],
            "zh": [
                "相同设置下，单次运行之间差别有多大？",
                "色带有多宽？什么时候最宽？",
                "“爆发”概率有一个区间：50 次运行之后我们有多确定？",
            ],
        },
        try_={
            "en": [
                "Give the guideline 10 first holders and run the many-seed view again.",
                "Compare an intervention arm with the baseline in the many-seed view: do the intervals overlap?",
                "Double the number of clinicians.",
            ],
            "zh": [
                "把指南的最初持有者增加到 10 人，再运行多种子视图。",
                "在多种子视图中比较干预组与基线组：两个区间是否重叠？",
                "把医务人员人数加倍。",
            ],
        },
        predict={
            "en": "Out of 50 runs, in how many will the guideline reach half of all clinicians?",
            "zh": "50 次运行中，指南有多少次能传到半数医务人员？",
        },
        debrief={
            "en": [
                "Why is one run — or one pilot county — not evidence?",
                "How many runs (or counties) would you need to tell two policies apart?",
                "What in real life plays the role of the seed?",
            ],
            "zh": [
                "为什么一次运行——或一个试点县——不能算作证据？",
                "要区分两项政策，需要多少次运行（或多少个县）？",
                "现实生活中，什么扮演了“随机种子”的角色？",
            ],
        },
        settings={},
        intervention="broadcast_guideline",
        start_day=5.0,
        item_kind="guideline",
        tab=1,
    ),
)


def lesson(key: str) -> Lesson:
    for ls in LESSONS:
        if ls.key == key:
            return ls
    raise KeyError(key)
