"""The widget in real Chromium, for what needs no bot: IME, sanitiser, CSS isolation, accessibility,
layout, privacy warning, languages, focus, and the friendly message while Rasa is unreachable."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from widget_helpers import AXE_JS, PHONE, WIDGET_DIR, host_html, screenshot

pytestmark = pytest.mark.browser

WIDGET = "madoguchi-chat"
SHADOW = f"document.querySelector('{WIDGET}').shadowRoot"


def open_widget(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(f"{WIDGET}[data-ready]", state="attached")
    if page.locator(f"{WIDGET} .panel").is_hidden():
        page.locator(f"{WIDGET} .launcher").click()
    page.locator(f"{WIDGET} textarea").wait_for()
    settle(page)


def wait_js(page, expression: str, timeout: float = 20.0) -> None:
    """Poll a JavaScript expression from Python (``wait_for_function`` needs eval, which the
    server's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(50)


def settle(page) -> None:
    """Wait for the widget's animations (the panel sliding in) to finish."""
    page.evaluate(
        f"() => Promise.all({SHADOW}.getAnimations().map((a) => a.finished.catch(() => null)))"
    )


def chat_requests(page) -> list[str]:
    sent: list[str] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.post_data or "")
            if request.url.endswith("/api/chat") and request.method == "POST"
            else None
        ),
    )
    return sent


def test_widget_is_small(capsys):
    script = (WIDGET_DIR / "static" / "madoguchi.js").read_bytes()
    avatar = (WIDGET_DIR / "static" / "avatar.svg").read_bytes()
    size = len(gzip.compress(script, 9)) + len(gzip.compress(avatar, 9))
    with capsys.disabled():
        print(f"\nwidget size: {len(script)} bytes raw, {size} bytes gzipped (script + avatar)")
    assert size <= 40 * 1024


def test_ime_enter_never_sends(sqlite_url, web_server_factory, new_context):
    server = web_server_factory(sqlite_url)
    page = new_context().new_page()
    sent = chat_requests(page)
    open_widget(page, server.url + "/")
    textarea = page.locator(f"{WIDGET} textarea")
    textarea.fill("ごみのだしかた")

    def dispatch(script: str) -> None:
        page.evaluate(f"() => {{ const ta = {SHADOW}.querySelector('textarea'); {script} }}")

    enter = "new KeyboardEvent('keydown', {{key: 'Enter', code: 'Enter', keyCode: {code}, which: {code}, isComposing: {composing}, bubbles: true, cancelable: true, composed: true}})"  # noqa: E501
    # 1. Composing: compositionstart/update, then the confirming Enter (isComposing, keyCode 229).
    dispatch(
        "ta.dispatchEvent(new CompositionEvent('compositionstart', {data: '', bubbles: true}));"
        "ta.dispatchEvent(new CompositionEvent('compositionupdate', {data: 'ごみ'}));"
        f"ta.dispatchEvent({enter.format(code=229, composing='true')});"
    )
    # 2. Safari: compositionend first, then keydown Enter that no longer looks like composing.
    dispatch(
        "ta.dispatchEvent(new CompositionEvent('compositionend', {data: 'ごみ', bubbles: true}));"
        f"ta.dispatchEvent({enter.format(code=13, composing='false')});"
    )
    page.wait_for_timeout(300)
    # 3. Each signal on its own, without composition events: isComposing, then keyCode 229.
    dispatch(f"ta.dispatchEvent({enter.format(code=13, composing='true')});")
    dispatch(f"ta.dispatchEvent({enter.format(code=229, composing='false')});")
    page.wait_for_timeout(500)
    assert sent == []
    assert page.locator(f"{WIDGET} .row.user").count() == 0
    assert textarea.input_value() == "ごみのだしかた"

    # Shift+Enter is a new line, not a send.
    textarea.focus()
    page.keyboard.press("End")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("2行目")
    page.wait_for_timeout(200)
    assert sent == []
    assert textarea.input_value() == "ごみのだしかた\n2行目"

    # A plain Enter sends (so the checks above can fail).
    page.keyboard.press("Enter")
    page.locator(f"{WIDGET} .row.user").wait_for()
    assert len(sent) >= 1
    assert json.loads(sent[0])["message"] == "ごみのだしかた\n2行目"
    assert textarea.input_value() == ""

    # The send button sends too.
    textarea.fill("住民票")
    page.locator(f"{WIDGET} .err").last.wait_for()
    wait_js(page, f"!{SHADOW}.querySelector('.send').hasAttribute('aria-disabled')")
    before = len(sent)
    page.locator(f"{WIDGET} button.send").click()
    wait_js(page, f"{SHADOW}.querySelectorAll('.row.user').length === 2")
    assert len(sent) > before


HOSTILE_HTML = [
    "<script>window.__pwned = 'script'</script><p>text after a script</p>",
    "<img src=x onerror=\"window.__pwned = 'onerror'\">",
    "<img src=x onerror=alert('onerror-dialog')>",
    "<a href=\"javascript:window.__pwned = 'js-link'\">link</a>",
    "<a href=\" JaVaScRiPt:window.__pwned = 'js-link-2'\">link</a>",
    "<a href=\"&#106;avascript:window.__pwned='entity'\">link</a>",
    '<a href="data:text/html,<script>alert(1)</script>">data</a>',
    "<svg onload=\"window.__pwned = 'svg'\"><script>window.__pwned = 'svg-script'</script></svg>",
    "<iframe src=\"javascript:parent.__pwned = 'iframe'\"></iframe>",
    "<iframe srcdoc=\"<script>parent.__pwned = 'srcdoc'</script>\"></iframe>",
    "<details open ontoggle=\"window.__pwned = 'toggle'\"><summary>s</summary></details>",
    '<p onclick="window.__pwned = \'click\'" style="background:url(javascript:alert(1))">p</p>',
    "<form><button formaction=\"javascript:window.__pwned = 'form'\">b</button></form>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__pwned='noscript'>\"></noscript>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned='mxss'>",
    "<template><img src=x onerror=window.__pwned='template'></template>",
    '<object data="javascript:window.__pwned=\'object\'"></object><embed src="javascript:1">',
    '<base href="javascript:alert(1)//"><meta http-equiv=refresh content="0;url=javascript:1">',
    '<img src="data:image/svg+xml,<svg onload=alert(1)>" alt="d">',
    '<a href="https://example.jp/" target="_self" onmouseover="window.__pwned=\'hover\'">ok</a>',
]
SAFE_HTML = (
    "<p><strong>太字</strong>と<a href='https://www.city.midori.example.jp/'>市のページ</a></p>"
    "<ul><li>項目</li></ul><img src='https://www.city.midori.example.jp/a.png' alt='図'>"
    "<p><a href='tel:0120000000'>電話</a> <a href='mailto:info@example.jp'>メール</a></p>"
)


def test_sanitiser_renders_hostile_html_inert(
    sqlite_url, web_server_factory, host_site, new_context
):
    server = web_server_factory(sqlite_url, MADOGUCHI_WEB__CORS_ORIGINS=json.dumps([host_site.url]))
    # A host page without CSP: the widget's sanitiser is the only thing in the way.
    url = host_site.page(
        "sanitise.html", host_html(server.url, body='<div id="out"></div><div id="raw"></div>')
    )
    page = new_context().new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.wait_for_selector(f"{WIDGET}[data-ready]", state="attached")

    report = page.evaluate(
        """([hostile, safe]) => {
            const sanitize = customElements.get('madoguchi-chat').sanitize;
            const out = document.getElementById('out');
            for (const html of hostile) out.append(sanitize(html));
            out.append(sanitize(safe));
            const all = [...out.querySelectorAll('*')];
            return {
                tags: [...new Set(all.map((el) => el.localName))].sort(),
                handlers: all.flatMap((el) => [...el.attributes].map((a) => a.name))
                    .filter((n) => n.startsWith('on') || n === 'style' || n === 'srcdoc'),
                urls: all.flatMap((el) => ['href', 'src'].map((n) => el.getAttribute(n)))
                    .filter(Boolean),
                links: [...out.querySelectorAll('a')].map((a) => [a.target, a.rel]),
                text: out.textContent,
            };
        }""",
        [HOSTILE_HTML, SAFE_HTML],
    )
    page.wait_for_timeout(800)  # give any surviving handler (onerror, onload) time to fire
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert set(report["tags"]) <= {"p", "a", "img", "strong", "ul", "li"}
    assert report["handlers"] == []
    assert all(u.startswith(("https://", "http://", "tel:", "mailto:")) for u in report["urls"])
    assert "https://www.city.midori.example.jp/a.png" in report["urls"]
    assert "tel:0120000000" in report["urls"]
    assert all(link == ["_blank", "noopener noreferrer"] for link in report["links"])
    assert "text after a script" in report["text"]
    assert "太字" in report["text"]

    # The same HTML without the sanitiser does run: the checks above can fail.
    page.evaluate(
        "(hostile) => { document.getElementById('raw').innerHTML = hostile.join(''); }",
        HOSTILE_HTML,
    )
    wait_js(page, "window.__pwned !== undefined")


HOSTILE_CSS = """<style>
html { font-size: 40px !important; direction: rtl !important; }
* { font-size: 40px !important; display: block !important; line-height: 3 !important;
    color: red !important; background: yellow !important; letter-spacing: 6px !important;
    font-family: serif !important; text-transform: uppercase !important;
    box-sizing: content-box !important; margin: 13px !important; padding: 9px !important;
    position: static !important; border: 5px solid lime !important; text-align: right !important;
    word-break: break-all !important; text-indent: 30px !important; width: 300px !important;
    visibility: hidden !important; cursor: wait !important; font-weight: 900 !important; }
button, textarea, img, div, section, select, span, p, h2 { all: unset !important; }
madoguchi-chat { display: none; font: 30px/5 fantasy; }
</style>"""

MEASURE = """() => {
    const root = document.querySelector('madoguchi-chat').shadowRoot;
    const selectors = ['.launcher', '.panel', '.head', '.title', '.langsel select', '.x', '.log',
                       '.bubble', '.chips .btn', 'textarea', '.send', '.notice'];
    return Object.fromEntries(selectors.map((s) => {
        const el = root.querySelector(s);
        if (!el) return [s, null];
        const r = el.getBoundingClientRect();
        const cs = getComputedStyle(el);
        return [s, {x: Math.round(r.x), y: Math.round(r.y), w: Math.round(r.width),
                    h: Math.round(r.height), font: cs.fontSize + ' ' + cs.fontFamily,
                    color: cs.color, bg: cs.backgroundColor, display: cs.display,
                    spacing: cs.letterSpacing, transform: cs.textTransform, opacity: cs.opacity}];
    }));
}"""


def test_hostile_host_css_leaves_the_widget_alone(
    sqlite_url, web_server_factory, host_site, new_context
):
    server = web_server_factory(sqlite_url, MADOGUCHI_WEB__CORS_ORIGINS=json.dumps([host_site.url]))
    clean = host_site.page("clean.html", host_html(server.url))
    hostile = host_site.page("hostile.html", host_html(server.url, head=HOSTILE_CSS))
    bare = host_site.page(
        "bare.html", host_html(server.url).replace('<script src="', '<script data-x="')
    )
    measured = {}
    for name, url in [("clean", clean), ("hostile", hostile)]:
        page = new_context().new_page()
        open_widget(page, url)
        page.mouse.move(600, 300)  # no hover effect on the launcher
        page.wait_for_timeout(300)
        measured[name] = page.evaluate(MEASURE)
        if name == "hostile":
            screenshot(page, "desktop-hostile-css")
        host_box = page.evaluate(
            "() => JSON.stringify(document.getElementById('host-text').getBoundingClientRect())"
        )
        if name == "clean":
            # The widget does not touch the host page either.
            assert page.evaluate("document.adoptedStyleSheets.length") == 0
            other = new_context().new_page()
            other.goto(bare)
            assert host_box == other.evaluate(
                "() => JSON.stringify(document.getElementById('host-text').getBoundingClientRect())"
            )
    for selector, box in measured["clean"].items():
        assert box is not None, selector
        assert measured["hostile"][selector] == box, selector
    assert measured["clean"]["textarea"]["font"].startswith("16px")


def run_axe(page) -> list[dict]:
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(' ') + ' :: ' + n.failureSummary)}));
        }"""
    )


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_axe_finds_no_violations(sqlite_url, web_server_factory, new_context, device):
    server = web_server_factory(sqlite_url)
    options = {"bypass_csp": True, **(PHONE if device == "phone" else {})}
    page = new_context(**options).new_page()
    open_widget(page, server.url + "/")
    assert run_axe(page) == []
    # With messages (the bot is unreachable here: an error bubble and its retry button) and the
    # privacy warning open.
    page.locator(f"{WIDGET} textarea").fill("住民票の写しがほしい")
    page.locator(f"{WIDGET} button.send").click()
    page.locator(f"{WIDGET} .err").wait_for()
    page.locator(f"{WIDGET} textarea").fill("電話番号は090-1234-5678です")
    page.locator(f"{WIDGET} button.send").click()
    page.locator(f"{WIDGET} .warn").wait_for()
    assert run_axe(page) == []
    chat = new_context(**options).new_page()
    chat.goto(server.url + "/chat")
    chat.wait_for_selector(f"{WIDGET}[data-ready]", state="attached")
    assert run_axe(chat) == []


def test_unreachable_bot_gives_a_friendly_message_and_history_survives(
    sqlite_url, web_server_factory, new_context
):
    server = web_server_factory(sqlite_url)
    page = new_context().new_page()
    sent = chat_requests(page)
    open_widget(page, server.url + "/")
    page.locator(f"{WIDGET} textarea").fill("住民票の写しがほしい")
    page.keyboard.press("Enter")
    # The typing indicator shows while the widget retries.
    page.locator(f"{WIDGET} .typing").wait_for()
    error = page.locator(f"{WIDGET} .err")
    error.wait_for()
    assert "ただいまシステムに接続できません" in error.inner_text()
    assert page.locator(f"{WIDGET} .typing").count() == 0
    assert len(sent) == 3  # the first try and two retries
    # The live region announces the new bot message, once.
    live = page.evaluate(
        f"[...{SHADOW}.querySelector('[aria-live=polite]').children].map((p) => p.textContent)"
    )
    assert len(live) == 1 and "ただいまシステムに接続できません" in live[0]
    # Reload: the history is restored, and nothing of it is announced again.
    page.reload()
    page.wait_for_selector(f"{WIDGET}[data-ready]", state="attached")
    assert page.locator(f"{WIDGET} .row.user .bubble").inner_text() == "住民票の写しがほしい"
    assert page.locator(f"{WIDGET} .err").count() == 1
    assert page.evaluate(f"{SHADOW}.querySelector('[aria-live=polite]').children.length") == 0


def test_privacy_notice_and_warning(sqlite_url, web_server_factory, new_context):
    server = web_server_factory(sqlite_url)
    page = new_context().new_page()
    sent = chat_requests(page)
    open_widget(page, server.url + "/")
    notice = page.locator(f"{WIDGET} .notice")
    assert notice.inner_text() == "個人情報（氏名・電話番号など）は入力しないでください"
    textarea = page.locator(f"{WIDGET} textarea")
    warning = page.locator(f"{WIDGET} .warn")
    for text in [
        "電話番号は090-1234-5678です",
        "０３－１２３４－５６７８に電話したい",
        "個人番号 1234 5678 9012 を変更したい",
        "連絡先は taro.yamada@example.jp です",
    ]:
        textarea.fill(text)
        page.keyboard.press("Enter")
        warning.wait_for()
        assert "個人情報" in warning.inner_text()
        page.locator(f"{WIDGET} .warn button", has_text="修正する").click()
        assert warning.is_hidden()
        assert textarea.input_value() == text
    page.wait_for_timeout(300)
    assert sent == []
    assert page.evaluate("() => window.confirm.toString().includes('native code')")

    # Ordinary questions with numbers pass without a warning.
    for text in ["2024年4月1日から変わりますか", "郵便番号は123-4567です"]:
        assert (
            page.evaluate(f"(t) => customElements.get('{WIDGET}').looksPersonal(t)", text) is False
        )

    # "Send anyway" sends.
    textarea.fill("電話番号は090-1234-5678です")
    page.keyboard.press("Enter")
    page.locator(f"{WIDGET} .warn button", has_text="このまま送信").click()
    page.locator(f"{WIDGET} .row.user").wait_for()
    assert len(sent) >= 1


def test_focus_keyboard_and_escape(sqlite_url, web_server_factory, new_context):
    server = web_server_factory(sqlite_url)
    page = new_context().new_page()
    page.goto(server.url + "/")
    page.wait_for_selector(f"{WIDGET}[data-ready]", state="attached")
    active = f"() => {SHADOW}.activeElement && {SHADOW}.activeElement.className"
    page.locator(f"{WIDGET} .launcher").focus()
    page.keyboard.press("Enter")
    assert page.locator(f"{WIDGET} .panel").is_visible()
    assert page.evaluate(active) == ""  # the textarea (no class)
    assert page.evaluate(f"{SHADOW}.activeElement.localName") == "textarea"
    assert page.locator(f"{WIDGET} .launcher").get_attribute("aria-expanded") == "true"
    # Shift+Tab walks back through the panel's controls up to the close button.
    seen = []
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        seen.append(
            page.evaluate(
                f"() => {SHADOW}.activeElement?.localName + '.' + {SHADOW}.activeElement?.className"
            )
        )
        if seen[-1] == "select.":
            break
    assert {"button.x", "select.", "div.log", "button.btn"} <= set(seen), seen
    page.keyboard.press("Escape")
    assert page.locator(f"{WIDGET} .panel").is_hidden()
    assert page.evaluate(active) == "launcher"
    assert page.locator(f"{WIDGET} .launcher").get_attribute("aria-expanded") == "false"


def test_language_switcher(sqlite_url, web_server_factory, new_context):
    server = web_server_factory(sqlite_url)
    page = new_context().new_page()
    open_widget(page, server.url + "/")
    expected = {
        "en": "Type your question",
        "zh-Hans": "请输入您的问题",
        "ko": "질문을 입력하세요",
        "vi": "Nhập câu hỏi của bạn",
        "ja": "質問を入力してください",
    }
    for lang, placeholder in expected.items():
        page.locator(f"{WIDGET} .langsel select").select_option(lang)
        assert page.locator(f"{WIDGET} textarea").get_attribute("placeholder") == placeholder
        assert page.locator(f"{WIDGET} .mg").get_attribute("lang") == lang
    page.locator(f"{WIDGET} .langsel select").select_option("en")
    page.reload()
    page.wait_for_selector(f"{WIDGET}[data-ready]", state="attached")
    assert page.locator(f"{WIDGET} .notice").inner_text().startswith("Please do not enter")
    # The welcome message is the city's own text and stays as it is.
    assert "みどりん" in page.locator(f"{WIDGET} .bubble").first.inner_text()


def test_layouts_phone_tablet_desktop(sqlite_url, web_server_factory, new_context):
    server = web_server_factory(sqlite_url)
    phone = new_context(**PHONE).new_page()
    open_widget(phone, server.url + "/")
    box = phone.locator(f"{WIDGET} .panel").bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
    assert phone.locator(f"{WIDGET} .launcher").is_hidden()
    font = phone.evaluate(f"getComputedStyle({SHADOW}.querySelector('textarea')).fontSize")
    assert float(font.removesuffix("px")) >= 16
    # The on-screen keyboard shrinks the visual viewport: the sheet follows it.
    phone.set_viewport_size({"width": 390, "height": 500})
    wait_js(phone, f"{SHADOW}.querySelector('.panel').getBoundingClientRect().height === 500")
    composer = phone.locator(f"{WIDGET} .composer").bounding_box()
    assert composer["y"] + composer["height"] <= 500

    tablet = new_context(viewport={"width": 820, "height": 1180}, has_touch=True).new_page()
    open_widget(tablet, server.url + "/")
    box = tablet.locator(f"{WIDGET} .panel").bounding_box()
    assert box["width"] == 440 and 700 <= box["height"] <= 760

    desktop = new_context().new_page()
    open_widget(desktop, server.url + "/")
    box = desktop.locator(f"{WIDGET} .panel").bounding_box()
    assert box["width"] == 380 and box["x"] + box["width"] == 1280 - 20

    chat = new_context(**PHONE).new_page()
    chat.goto(server.url + "/chat")
    chat.wait_for_selector(f"{WIDGET}[data-ready]", state="attached")
    box = chat.locator(f"{WIDGET} .panel").bounding_box()
    assert (box["width"], box["height"]) == (390, 844)
    assert chat.locator(f"{WIDGET} .x").count() == 0
