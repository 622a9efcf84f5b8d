"""The public web server over real HTTP: headers, limits, CORS, settings, attachments, health."""

from __future__ import annotations

import hashlib
import json

import httpx

from qa_data.db import session_scope
from qa_data.models import AppSetting, Attachment
from qa_data.qa_store import save_entry

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def add_entry(url: str, external_id: str, status: str, files: list[tuple[str, str, bytes]]):
    """A QA entry (through the store service) and its attachments; returns the attachment ids."""
    with session_scope(url) as session:
        entry = save_entry(
            session,
            external_id=external_id,
            fields={
                "department": "市民課",
                "question": f"{external_id} の質問",
                "answer": "回答です。",
                "status": status,
            },
            actor="test",
        )
        ids = []
        for filename, content_type, data in files:
            attachment = Attachment(
                qa_id=entry.id,
                filename=filename,
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                data=data,
            )
            session.add(attachment)
            session.flush()
            ids.append(attachment.id)
        return ids


def test_security_headers_on_every_kind_of_response(sqlite_url, web_server_factory):
    server = web_server_factory(sqlite_url)
    for method, path in [
        ("GET", "/"),
        ("GET", "/chat"),
        ("GET", "/widget/madoguchi.js"),
        ("GET", "/widget/settings.json"),
        ("GET", "/no-such-page"),
        ("POST", "/api/chat"),
    ]:
        response = httpx.request(method, server.url + path, json={"sender": "s1", "message": "x"})
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        csp = headers["content-security-policy"]
        directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
        assert directives["script-src"] == "'self'", path
        assert "unsafe" not in directives["style-src"], path
        assert directives["object-src"] == "'none'", path
    js = httpx.get(server.url + "/widget/madoguchi.js")
    assert js.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    page = httpx.get(server.url + "/")
    assert "<script>" not in page.text and " on" not in page.text.split("<body", 1)[1].split(">")[0]
    assert 'src="/widget/madoguchi.js"' in page.text


def test_request_size_limit_answers_413_politely(sqlite_url, web_server_factory):
    server = web_server_factory(sqlite_url, MADOGUCHI_WEB__MAX_REQUEST_BYTES="2048")
    big = json.dumps({"sender": "s1", "message": "あ" * 3000})
    response = httpx.post(
        server.url + "/api/chat", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert "短く" in response.json()["message"]

    # A body without Content-Length (chunked) is counted as it arrives.
    def chunks():
        for _ in range(10):
            yield b"x" * 1000

    chunked = httpx.post(server.url + "/api/chat", content=chunks())
    assert chunked.status_code == 413

    # Typed text above the question limit is refused too, even when the body is small enough.
    long_text = httpx.post(server.url + "/api/chat", json={"sender": "s1", "message": "a" * 501})
    assert long_text.status_code == 413
    # A normal message passes the limit (and reaches the proxy: Rasa is down here).
    small = httpx.post(server.url + "/api/chat", json={"sender": "s1", "message": "住民票"})
    assert small.status_code == 503


def test_rate_limit_per_client_with_a_polite_message(sqlite_url, web_server_factory):
    server = web_server_factory(sqlite_url, MADOGUCHI_WEB__RATE_LIMIT_PER_MINUTE="3")
    statuses = [
        httpx.post(server.url + "/api/chat", json={"sender": "s1", "message": "こんにちは"})
        for _ in range(5)
    ]
    assert [r.status_code for r in statuses[:3]] == [503, 503, 503]
    limited = statuses[3]
    assert limited.status_code == 429
    body = limited.json()
    assert body["error"] == "rate_limited"
    assert "お待ちいただいて" in body["message"]
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    assert statuses[4].status_code == 429
    # Only the chat endpoint is limited: the page and the widget keep loading.
    assert httpx.get(server.url + "/widget/madoguchi.js").status_code == 200


def test_bad_requests_are_refused(sqlite_url, web_server_factory):
    server = web_server_factory(sqlite_url)
    url = server.url + "/api/chat"
    assert httpx.post(url, content=b"{not json").status_code == 400
    assert httpx.post(url, json=["a"]).status_code == 400
    assert httpx.post(url, json={"sender": "../../x", "message": "a"}).status_code == 400
    assert httpx.post(url, json={"sender": "s1", "message": "   "}).status_code == 400
    assert httpx.get(url).status_code == 405


def test_attachments_only_of_published_entries(store_url, web_server_factory):
    (published_pdf, published_svg) = add_entry(
        store_url,
        "MD-9001",
        "published",
        [("申請書.pdf", "application/pdf", PDF), ("図.svg", "image/svg+xml", SVG)],
    )
    (draft_pdf,) = add_entry(
        store_url, "MD-9002", "draft", [("下書き.pdf", "application/pdf", PDF)]
    )
    (archived_pdf,) = add_entry(
        store_url, "MD-9003", "archived", [("旧.pdf", "application/pdf", PDF)]
    )
    server = web_server_factory(store_url)

    ok = httpx.get(f"{server.url}/attachments/{published_pdf}/申請書.pdf")
    assert ok.status_code == 200
    assert ok.content == PDF
    assert ok.headers["content-type"] == "application/pdf"
    assert ok.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in ok.headers["content-security-policy"]

    # A file that could carry script is never rendered in our origin.
    svg = httpx.get(f"{server.url}/attachments/{published_svg}/図.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "application/octet-stream"
    assert svg.headers["content-disposition"].startswith("attachment;")

    for attachment_id, name in [(draft_pdf, "下書き.pdf"), (archived_pdf, "旧.pdf")]:
        hidden = httpx.get(f"{server.url}/attachments/{attachment_id}/{name}")
        assert hidden.status_code == 404
        assert hidden.content != PDF
    assert httpx.get(f"{server.url}/attachments/{published_pdf}/other.pdf").status_code == 404
    assert httpx.get(f"{server.url}/attachments/999999/x.pdf").status_code == 404

    # Publishing the draft makes its file available.
    with session_scope(store_url) as session:
        save_entry(session, external_id="MD-9002", fields={"status": "published"}, actor="test")
    assert httpx.get(f"{server.url}/attachments/{draft_pdf}/下書き.pdf").status_code == 200


def test_settings_merge_config_defaults_and_the_console_row(store_url, web_server_factory):
    server = web_server_factory(store_url)
    defaults = httpx.get(server.url + "/widget/settings.json").json()
    assert defaults["title"] == "みどり市 AIよくある質問案内"
    assert defaults["colors"]["primary"] == "#1b6b3a"
    assert defaults["position"] == "bottom-right"
    assert defaults["suggested_questions"]

    with session_scope(store_url) as session:
        session.add(
            AppSetting(
                key="widget",
                value={
                    "title": "ひかり町 問い合わせ案内",
                    "character_name": "ひかりちゃん",
                    "colors": {"primary": "#003366", "text": "red; background:url(x)"},
                    "suggested_questions": ["ごみの日", 42, ""],
                    "position": "bottom-left",
                    "avatar_url": "javascript:alert(1)",
                    "lang": "ko",
                },
            )
        )
    merged = httpx.get(server.url + "/widget/settings.json").json()
    assert merged["title"] == "ひかり町 問い合わせ案内"
    assert merged["character_name"] == "ひかりちゃん"
    assert merged["colors"] == {"primary": "#003366", "background": "#ffffff", "text": "#1f2328"}
    assert merged["suggested_questions"] == ["ごみの日"]
    assert merged["position"] == "bottom-left"
    assert merged["avatar_url"] == "/widget/avatar.svg"
    assert merged["lang"] == "ko"
    assert merged["welcome_message"] == defaults["welcome_message"]


def test_cors_allow_list(sqlite_url, web_server_factory):
    allowed = "https://www.city.midori.example.jp"
    server = web_server_factory(sqlite_url, MADOGUCHI_WEB__CORS_ORIGINS=json.dumps([allowed]))
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    ok = httpx.options(server.url + "/api/chat", headers={"Origin": allowed, **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == allowed
    refused = httpx.options(
        server.url + "/api/chat", headers={"Origin": "https://evil.example", **preflight}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    simple = httpx.get(server.url + "/widget/settings.json", headers={"Origin": allowed})
    assert simple.headers["access-control-allow-origin"] == allowed


def test_healthz_reports_each_component(sqlite_url, web_server_factory):
    server = web_server_factory(sqlite_url)
    response = httpx.get(server.url + "/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["rasa"]["ok"] is False
    assert body["action_server"]["ok"] is False
    assert body["database"]["ok"] is True
