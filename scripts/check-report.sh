#!/usr/bin/env bash
# Renders a `dino report` page in headless Chromium and checks what a machine can check:
#   bash scripts/check-report.sh <report.html> [out.png]
# - every <img> loaded (complete, with a natural size) and is shown at no less than 60 % of that size;
# - nothing is wider than the viewport, and no element's content spills sideways out of its box;
# - the page has text, and the full-page screenshot (out.png, default <report>.png) is not blank.
# Then look at the screenshot yourself: every plot needs labelled axes and a legend, and all text must be readable.
# Installs Debian's chromium when root and missing (otherwise prints the apt-get command). Exit 0 when every check
# passes, 1 when one fails (each failure is printed), 2 when the page could not be rendered at all.
# Environment: CHECK_REPORT_WIDTH (viewport width in CSS pixels, default 1280), CHROMIUM (browser command).
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then usage; exit 0; fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage >&2; exit 2; fi
html="$1"
[ -f "$html" ] || { echo "check-report: $html: no such file" >&2; exit 2; }
out="${2:-${html%.html}.png}"
width="${CHECK_REPORT_WIDTH:-1280}"

browser="${CHROMIUM:-}"
if [ -z "$browser" ]; then
  for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
  done
fi
if [ -z "$browser" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Chromium (Debian package chromium)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    browser=chromium
  else
    echo "check-report: Chromium is missing; install it with: sudo apt-get install -y chromium" >&2
    exit 2
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions
       --user-data-dir="$work/profile" --force-device-scale-factor=1 --virtual-time-budget=10000)
# Debian's wrapper script prints a harmless shell error on some machines; stderr is kept for a real failure only.
run_browser() { "$browser" "${flags[@]}" "$@" 2>"$work/stderr" || true; }
fail_render() {
  echo "check-report: $1" >&2
  grep -v 'unexpected operator' "$work/stderr" | tail -5 >&2 || true
  exit 2
}
# A checking script leaves its findings, base64-encoded lines, in an attribute of <html>, which --dump-dom prints.
result_of() { grep -o 'data-check-report="[A-Za-z0-9+/=]*"' "$1" | head -1 | cut -d'"' -f2 | base64 -d 2>/dev/null || true; }

# 1. The page with the checking script appended (after </html> the parser still adds it to the body). It runs once
#    every image has loaded and the fonts are ready, at the same viewport width as the screenshot.
cp "$html" "$work/page.html"
cat >>"$work/page.html" <<'JS'
<script>
window.addEventListener("load", () => document.fonts.ready.then(() => {
  const vw = document.documentElement.clientWidth, lines = [];
  const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (typeof e.className === "string" && e.className ? "." + e.className.split(" ")[0] : "")
    + (e.getAttribute("alt") ? "[alt=\"" + e.getAttribute("alt") + "\"]" : "")
    + ((e.textContent || "").trim() ? " \"" + e.textContent.trim().replace(/\s+/g, " ").slice(0, 60) + "\"" : "");
  const images = [...document.images];
  for (const img of images) {
    const shown = img.getBoundingClientRect().width;
    if (!img.complete || img.naturalWidth === 0) lines.push("FAIL: image did not load: " + name(img));
    else if (shown < 0.6 * img.naturalWidth)
      lines.push("FAIL: image shown at " + Math.round(100 * shown / img.naturalWidth) + " % of its size, its text too small to read: " + name(img));
  }
  const pageWidth = document.documentElement.scrollWidth;
  if (pageWidth > vw) lines.push("FAIL: the page is " + pageWidth + " px wide in a " + vw + " px viewport (horizontal scrolling)");
  const spills = [], reported = new Set();
  for (const e of [document.body, ...document.body.querySelectorAll("*")]) {
    if (e.tagName === "SCRIPT") continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > vw + 0.5 || r.left < -0.5) {
      lines.push("FAIL: reaches outside the viewport (" + Math.round(r.left) + " to " + Math.round(r.right) + " px): " + name(e));
      reported.add(e);
    } else if (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible")
      spills.push(e);
  }
  // A box whose content is too wide: name the children that stick out of it, or, when it is its own text that does,
  // the box itself (unless a box inside it is the one that overflows).
  for (const e of spills) {
    const right = e.getBoundingClientRect().left + e.clientLeft + e.clientWidth;
    const kids = [...e.children].filter(c => c.getBoundingClientRect().right > right + 1);
    for (const k of kids.length ? kids : spills.some(o => o !== e && e.contains(o)) ? [] : [e]) {
      if (reported.has(k)) continue;
      reported.add(k);
      lines.push("FAIL: " + Math.round(k === e ? e.scrollWidth : k.getBoundingClientRect().width) + " px of content in a "
        + e.clientWidth + " px box: " + name(k) + (k === e ? "" : ", in " + e.tagName.toLowerCase()));
    }
  }
  const text = (document.body.innerText || "").trim().length;
  if (text === 0) lines.push("FAIL: the page has no text");
  lines.unshift("height " + Math.ceil(document.documentElement.scrollHeight), "note: " + images.length + " images, " + text + " characters of text, viewport " + vw + " px");
  document.documentElement.setAttribute("data-check-report", btoa(unescape(encodeURIComponent(lines.join("\n")))));
}));
</script>
JS
run_browser --window-size="$width,900" --dump-dom "file://$work/page.html" >"$work/dom.html"
findings=$(result_of "$work/dom.html")
[ -n "$findings" ] || fail_render "$browser did not finish loading $html (the checking script left no result)"
height=$(sed -n 's/^height //p' <<<"$findings")
# One screenshot of the whole page; Chromium's limit for one image is 16384 px.
[ "$height" -le 16000 ] || height=16000

# 2. The full-page screenshot: the window as tall as the page.
rm -f "$out"
run_browser --window-size="$width,$height" --screenshot="$out" "file://$work/page.html" >/dev/null
[ -s "$out" ] || fail_render "$browser wrote no screenshot to $out"

# 3. Is the screenshot blank? Its pixels, read back in the browser (a data: image does not taint the canvas).
{
  printf '<!doctype html><html><body><img id="s" src="data:image/png;base64,'
  base64 -w0 "$out"
  cat <<'JS'
"><script>
window.addEventListener("load", () => {
  const img = document.getElementById("s"), c = document.createElement("canvas");
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext("2d"); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data, colours = new Set();
  let inked = 0;
  for (let i = 0, p = 0; i < d.length; i += 4, p++) {
    if (Math.min(d[i], d[i + 1], d[i + 2]) < 200) inked++;
    if (p % 7 === 0) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  }
  const line = c.width + " " + c.height + " " + (inked / Math.max(1, c.width * c.height)).toFixed(4) + " " + colours.size;
  document.documentElement.setAttribute("data-check-report", btoa(line));
});
</script></body></html>
JS
} >"$work/shot.html"
run_browser --window-size=400,300 --dump-dom "file://$work/shot.html" >"$work/shot-dom.html"
read -r shot_w shot_h inked colours <<<"$(result_of "$work/shot-dom.html")" || true
[ -n "${colours:-}" ] || fail_render "could not read the screenshot $out back"

grep -v '^height ' <<<"$findings" || true
echo "note: screenshot ${shot_w}×${shot_h} px, $(awk -v f="$inked" 'BEGIN { printf "%.1f", 100 * f }') % of its pixels drawn, $colours colours in a sample"
failures=$(grep -c '^FAIL' <<<"$findings" || true)
if [ "$shot_w" != "$width" ] || [ "$shot_h" != "$height" ]; then
  echo "FAIL: the screenshot is ${shot_w}×${shot_h} px, not the ${width}×${height} asked for"
  failures=$((failures + 1))
fi
if awk -v f="$inked" -v c="$colours" 'BEGIN { exit !(f < 0.002 || c < 8) }'; then
  echo "FAIL: the screenshot is blank (almost nothing drawn)"
  failures=$((failures + 1))
fi
echo "Screenshot: $(realpath "$out")"
if [ "$failures" -gt 0 ]; then
  echo "check-report: $failures problem(s) in $html"
  exit 1
fi
echo "check-report: OK, $html"
