#!/usr/bin/env bash
# The teaching page's browser tests drive Debian's chromium (never a browser downloaded by a
# tool). Installs it with apt-get when it is missing and this is root; otherwise says what to do.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get > /dev/null; then
  echo "chromium: installing Debian's chromium for the browser tests (apt-get)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium > /dev/null
  exit 0
fi
echo "chromium: /usr/bin/chromium is missing and cannot be installed here (needs root and apt-get):" >&2
echo "  install Debian's chromium (sudo apt-get install chromium), or run the other tests with" >&2
echo "  .venv/bin/python -m pytest --ignore tests/test_demo_browser.py" >&2
exit 1
