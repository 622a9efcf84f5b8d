/*! madoguchi (窓口) chat widget — Apache-2.0. No framework, no build step.
 * Embed: <script src="https://bot.example.jp/widget/madoguchi.js" data-lang="ja" defer></script>
 * Full page: <madoguchi-chat mode="page"></madoguchi-chat> plus the same script tag.
 */
(() => {
  'use strict';
  const TAG = 'madoguchi-chat';
  if (!window.customElements || customElements.get(TAG)) return;

  const SCRIPT = document.currentScript ||
    [...document.querySelectorAll('script[src]')].find((s) => /\/madoguchi\.js(?:[?#]|$)/.test(s.src));
  const SRC = SCRIPT ? SCRIPT.src : location.href;
  const BASE = new URL('../', SRC).href; // the server's root: .../widget/madoguchi.js → .../
  const DATA_LANG = SCRIPT && SCRIPT.dataset.lang;
  const DATA_MODE = SCRIPT && SCRIPT.dataset.mode;
  const HTML_NS = 'http://www.w3.org/1999/xhtml';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const KEY = 'madoguchi:';
  const MAX_HISTORY = 120;
  const REQUEST_TIMEOUT = 25000;
  const RETRIES = 2;

  // ---------------------------------------------------------------- UI strings
  const LANGS = { ja: '日本語', en: 'English', 'zh-Hans': '简体中文', ko: '한국어', vi: 'Tiếng Việt' };
  const S = {
    ja: {
      open: 'チャットで質問する', launcher: '質問する', close: 'チャットを閉じる', input: '質問を入力',
      placeholder: '質問を入力してください', send: '送信', lang: '表示言語',
      notice: '個人情報（氏名・電話番号など）は入力しないでください',
      log: '会話', typing: '回答を準備しています', you: 'あなた', examples: '質問の例',
      menu: 'メニューから探す', retry: 'もう一度送る', newtab: '（新しいタブで開きます）',
      links: '関連リンク', files: '添付ファイル', contact: 'お問い合わせ先', tel: '電話',
      hours: '受付時間', mail: 'メール', web: 'ホームページ',
      piiTitle: '個人情報が含まれていませんか？',
      piiBody: '電話番号・個人番号（マイナンバー）・メールアドレスのような内容が含まれています。個人情報は送信しないでください。',
      piiEdit: '修正する', piiSend: 'このまま送信',
      unavailable: '申し訳ありません。ただいまシステムに接続できません。しばらく時間をおいてから、もう一度お試しください。',
      timeout: '申し訳ありません。応答に時間がかかっています。しばらく時間をおいてから、もう一度お試しください。',
      rate_limited: 'ただいまご質問が集中しております。恐れ入りますが、1分ほどお待ちいただいてから、もう一度お試しください。',
      too_large: 'メッセージが長すぎます。恐れ入りますが、短くしてもう一度お送りください。',
      empty: '申し訳ありません。ただいま回答を用意できませんでした。しばらく時間をおいてから、もう一度お試しください。',
      generic: '申し訳ありません。うまく送信できませんでした。しばらく時間をおいてから、もう一度お試しください。',
    },
    en: {
      open: 'Ask a question in chat', launcher: 'Ask us', close: 'Close chat', input: 'Your question',
      placeholder: 'Type your question', send: 'Send', lang: 'Language',
      notice: 'Please do not enter personal information (name, phone number, etc.).',
      log: 'Conversation', typing: 'Preparing an answer', you: 'You', examples: 'Example questions',
      menu: 'Browse the menu', retry: 'Send again', newtab: '(opens in a new tab)',
      links: 'Related links', files: 'Attachments', contact: 'Contact', tel: 'Phone',
      hours: 'Hours', mail: 'E-mail', web: 'Website',
      piiTitle: 'Does this contain personal information?',
      piiBody: 'Your message looks like it contains a phone number, an Individual Number (My Number) or an e-mail address. Please do not send personal information.',
      piiEdit: 'Edit', piiSend: 'Send anyway',
      unavailable: 'Sorry, we cannot connect to the service right now. Please try again a little later.',
      timeout: 'Sorry, the answer is taking too long. Please try again a little later.',
      rate_limited: 'We are receiving many questions right now. Please wait about a minute and try again.',
      too_large: 'Your message is too long. Please shorten it and send it again.',
      empty: 'Sorry, we could not prepare an answer right now. Please try again a little later.',
      generic: 'Sorry, your message could not be sent. Please try again a little later.',
    },
    'zh-Hans': {
      open: '通过聊天提问', launcher: '提问', close: '关闭聊天', input: '输入问题',
      placeholder: '请输入您的问题', send: '发送', lang: '语言',
      notice: '请勿输入个人信息（姓名、电话号码等）。',
      log: '对话', typing: '正在准备回答', you: '您', examples: '问题示例',
      menu: '从菜单查找', retry: '重新发送', newtab: '（在新标签页中打开）',
      links: '相关链接', files: '附件', contact: '咨询窗口', tel: '电话',
      hours: '受理时间', mail: '电子邮件', web: '网站',
      piiTitle: '是否包含个人信息？',
      piiBody: '您的消息似乎包含电话号码、个人编号（My Number）或电子邮件地址。请勿发送个人信息。',
      piiEdit: '修改', piiSend: '仍然发送',
      unavailable: '抱歉，目前无法连接到系统。请稍后再试。',
      timeout: '抱歉，回答耗时过长。请稍后再试。',
      rate_limited: '目前提问较多。请等待约1分钟后再试。',
      too_large: '消息过长。请缩短后重新发送。',
      empty: '抱歉，目前无法准备回答。请稍后再试。',
      generic: '抱歉，消息未能发送。请稍后再试。',
    },
    ko: {
      open: '채팅으로 질문하기', launcher: '질문하기', close: '채팅 닫기', input: '질문 입력',
      placeholder: '질문을 입력하세요', send: '보내기', lang: '언어',
      notice: '개인정보(이름, 전화번호 등)는 입력하지 마세요.',
      log: '대화', typing: '답변을 준비하고 있습니다', you: '나', examples: '질문 예시',
      menu: '메뉴에서 찾기', retry: '다시 보내기', newtab: '(새 탭에서 열림)',
      links: '관련 링크', files: '첨부 파일', contact: '문의처', tel: '전화',
      hours: '접수 시간', mail: '이메일', web: '홈페이지',
      piiTitle: '개인정보가 포함되어 있지 않나요?',
      piiBody: '전화번호, 개인번호(마이넘버) 또는 이메일 주소로 보이는 내용이 있습니다. 개인정보는 보내지 마세요.',
      piiEdit: '수정하기', piiSend: '그대로 보내기',
      unavailable: '죄송합니다. 지금은 시스템에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.',
      timeout: '죄송합니다. 응답이 지연되고 있습니다. 잠시 후 다시 시도해 주세요.',
      rate_limited: '지금 질문이 많습니다. 1분 정도 기다린 후 다시 시도해 주세요.',
      too_large: '메시지가 너무 깁니다. 짧게 줄여서 다시 보내 주세요.',
      empty: '죄송합니다. 지금은 답변을 준비할 수 없습니다. 잠시 후 다시 시도해 주세요.',
      generic: '죄송합니다. 메시지를 보내지 못했습니다. 잠시 후 다시 시도해 주세요.',
    },
    vi: {
      open: 'Đặt câu hỏi qua chat', launcher: 'Hỏi đáp', close: 'Đóng chat', input: 'Câu hỏi của bạn',
      placeholder: 'Nhập câu hỏi của bạn', send: 'Gửi', lang: 'Ngôn ngữ',
      notice: 'Vui lòng không nhập thông tin cá nhân (họ tên, số điện thoại, v.v.).',
      log: 'Cuộc trò chuyện', typing: 'Đang chuẩn bị câu trả lời', you: 'Bạn', examples: 'Câu hỏi mẫu',
      menu: 'Tìm trong danh mục', retry: 'Gửi lại', newtab: '(mở trong thẻ mới)',
      links: 'Liên kết liên quan', files: 'Tệp đính kèm', contact: 'Nơi liên hệ', tel: 'Điện thoại',
      hours: 'Giờ tiếp nhận', mail: 'E-mail', web: 'Trang web',
      piiTitle: 'Tin nhắn có chứa thông tin cá nhân không?',
      piiBody: 'Tin nhắn có vẻ chứa số điện thoại, mã số cá nhân (My Number) hoặc địa chỉ e-mail. Vui lòng không gửi thông tin cá nhân.',
      piiEdit: 'Sửa lại', piiSend: 'Vẫn gửi',
      unavailable: 'Xin lỗi, hiện không thể kết nối với hệ thống. Vui lòng thử lại sau.',
      timeout: 'Xin lỗi, phản hồi mất quá nhiều thời gian. Vui lòng thử lại sau.',
      rate_limited: 'Hiện có nhiều câu hỏi. Vui lòng đợi khoảng 1 phút rồi thử lại.',
      too_large: 'Tin nhắn quá dài. Vui lòng rút ngắn và gửi lại.',
      empty: 'Xin lỗi, hiện chưa thể chuẩn bị câu trả lời. Vui lòng thử lại sau.',
      generic: 'Xin lỗi, không gửi được tin nhắn. Vui lòng thử lại sau.',
    },
  };

  const DEFAULTS = {
    title: 'よくある質問', character_name: '案内係', avatar_url: '/widget/avatar.svg',
    colors: { primary: '#1b6b3a', background: '#ffffff', text: '#1f2328' },
    welcome_message: 'ご質問を入力してください。', suggested_questions: [],
    position: 'bottom-right', lang: 'ja', max_chars: 500,
  };

  // ---------------------------------------------------------------- small helpers
  const store = (() => {
    const memory = {};
    let ss = null;
    try { ss = window.sessionStorage; ss.setItem(KEY + 't', '1'); ss.removeItem(KEY + 't'); } catch (_) { ss = null; }
    return {
      get(k) { try { const v = ss ? ss.getItem(KEY + k) : memory[k]; return v == null ? null : JSON.parse(v); } catch (_) { return null; } },
      set(k, v) { const s = JSON.stringify(v); try { if (ss) ss.setItem(KEY + k, s); else memory[k] = s; } catch (_) { memory[k] = s; } },
    };
  })();

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat(Infinity)) if (c != null && c !== false) el.append(c);
    return el;
  }

  function svg(paths, cls) {
    const el = document.createElementNS(SVG_NS, 'svg');
    el.setAttribute('viewBox', '0 0 24 24');
    el.setAttribute('aria-hidden', 'true');
    el.setAttribute('focusable', 'false');
    if (cls) el.setAttribute('class', cls);
    for (const d of paths) {
      const p = document.createElementNS(SVG_NS, 'path');
      p.setAttribute('d', d);
      el.append(p);
    }
    return el;
  }
  const ICON = {
    send: ['M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z'],
    close: ['M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z'],
    file: ['M6 2h8l6 6v14H6zm7 1.5V9h5.5z'],
    phone: ['M6.6 10.8a15.2 15.2 0 0 0 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 1 .4 1 1V20c0 .6-.4 1-1 1A17 17 0 0 1 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 3.6.1.3 0 .7-.2 1z'],
  };

  function safeUrl(value, forImage) {
    if (typeof value !== 'string') return null;
    let url;
    try { url = new URL(value.trim(), BASE); } catch (_) { return null; }
    const ok = forImage ? ['http:', 'https:'] : ['http:', 'https:', 'mailto:', 'tel:'];
    return ok.includes(url.protocol) ? url.href : null;
  }

  // ---------------------------------------------------------------- the allow-list sanitiser
  const ALLOWED = new Map(Object.entries({
    p: [], br: [], strong: [], em: [], b: [], i: [], u: [], s: [], a: ['href', 'title'],
    ul: [], ol: [], li: [], img: ['src', 'alt', 'title'], h3: [], h4: [], blockquote: [],
    code: [], pre: [], hr: [], table: [], thead: [], tbody: [], tr: [], th: [], td: [],
  }));
  // Dropped with everything inside them; any other unknown element is unwrapped to its content.
  const DROP = new Set(('script style template iframe frame frameset object embed applet noscript noembed ' +
    'svg math form input button textarea select option optgroup link meta base title head audio video ' +
    'canvas source track picture portal dialog slot xmp plaintext noframes').split(' '));

  /** HTML string → a DocumentFragment holding only allowed tags and attributes. */
  function sanitize(html) {
    const out = document.createDocumentFragment();
    if (typeof html !== 'string' || !html) return out;
    // A DOMParser document is inert: nothing in it runs or loads.
    const doc = new DOMParser().parseFromString('<!DOCTYPE html><body>' + html, 'text/html');
    copyClean(doc.body, out, 0);
    return out;
  }

  function copyClean(from, to, depth) {
    for (const node of from.childNodes) {
      if (node.nodeType === 3) { to.append(document.createTextNode(node.data)); continue; }
      if (node.nodeType !== 1) continue; // comments, processing instructions
      const tag = node.localName;
      if (node.namespaceURI !== HTML_NS || DROP.has(tag)) continue;
      const allowed = ALLOWED.get(tag);
      if (!allowed || depth > 40) { copyClean(node, to, depth + 1); continue; }
      const el = document.createElement(tag);
      for (const name of allowed) {
        const value = node.getAttribute(name);
        if (value == null) continue;
        if (name === 'href' || name === 'src') {
          const url = safeUrl(value, name === 'src');
          if (url) el.setAttribute(name, url);
        } else {
          el.setAttribute(name, value.slice(0, 300));
        }
      }
      if (tag === 'a') {
        el.setAttribute('target', '_blank');
        el.setAttribute('rel', 'noopener noreferrer');
      } else if (tag === 'img') {
        if (!el.hasAttribute('src')) continue;
        if (!el.hasAttribute('alt')) el.setAttribute('alt', '');
        el.setAttribute('loading', 'lazy');
        el.setAttribute('decoding', 'async');
        el.setAttribute('referrerpolicy', 'no-referrer');
      }
      copyClean(node, el, depth + 1);
      to.append(el);
    }
  }

  /** Plain text → nodes, keeping line breaks and turning bare http(s) URLs into links. */
  function linkify(text) {
    const frag = document.createDocumentFragment();
    const re = /https?:\/\/[^\s<>"'`）」』】〕、。，]+/g;
    String(text == null ? '' : text).split('\n').forEach((line, i) => {
      if (i) frag.append(document.createElement('br'));
      let last = 0;
      for (const m of line.matchAll(re)) {
        let url = m[0];
        const trail = url.match(/[.,;:!?)\]]+$/);
        if (trail) url = url.slice(0, -trail[0].length);
        const href = safeUrl(url, false);
        if (!href) continue;
        frag.append(line.slice(last, m.index));
        frag.append(h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, url));
        last = m.index + url.length;
      }
      frag.append(line.slice(last));
    });
    return frag;
  }

  /** Does typed text look like a phone number, a 12-digit 個人番号 or an e-mail address? */
  function looksPersonal(text) {
    const t = String(text).normalize('NFKC').replace(/(\d)[ー‐‑‒–—―−](?=\d)/g, '$1-');
    if (/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/.test(t)) return true;
    for (const m of t.matchAll(/\+?\d[\d\s()-]{6,}\d/g)) {
      const digits = m[0].replace(/\D/g, '');
      if (digits.length === 12 && /^\d{4}[\s-]?\d{4}[\s-]?\d{4}$/.test(m[0].trim())) return true;
      if (/^0\d{9,10}$/.test(digits) || /^81\d{9,10}$/.test(digits)) return true;
    }
    return false;
  }

  function formatSize(bytes, lang) {
    const n = Number(bytes);
    if (!isFinite(n) || n < 0) return '';
    const units = ['B', 'KB', 'MB', 'GB'];
    let v = n, u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    const fmt = new Intl.NumberFormat(lang, { maximumFractionDigits: u && v < 10 ? 1 : 0 });
    return fmt.format(v) + ' ' + units[u];
  }

  function luminance(hex) {
    const v = hex.length === 4 ? hex.slice(1).split('').map((c) => c + c) : [hex.slice(1, 3), hex.slice(3, 5), hex.slice(5, 7)];
    const [r, g, b] = v.map((x) => { const c = parseInt(x, 16) / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  function contrast(a, b) {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  }
  const isColor = (c) => typeof c === 'string' && /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(c);

  function newSessionId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // ---------------------------------------------------------------- styles (Shadow DOM only)
  const CSS = `
:host{all:initial!important;display:contents!important}
.mg{--p:#1b6b3a;--on-p:#fff;--bg:#fff;--fg:#1f2328;--muted:#4d5359;--bot:#eef3f0;--line:#c9d1cc;--link:#0b57a4;
font:400 15px/1.6 system-ui,-apple-system,"Hiragino Sans","Hiragino Kaku Gothic ProN","Noto Sans JP","Yu Gothic UI",Meiryo,sans-serif;
color:var(--fg);text-align:left;letter-spacing:normal;word-spacing:normal;text-transform:none;text-indent:0;
text-shadow:none;white-space:normal;visibility:visible;direction:ltr;writing-mode:horizontal-tb;cursor:auto;
-webkit-text-size-adjust:100%;text-size-adjust:100%}
:where(.mg *,.mg *::before,.mg *::after){box-sizing:border-box;margin:0;padding:0;font:inherit;color:inherit;letter-spacing:inherit}
[hidden]{display:none!important}
.sr{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}
:where(button,select,textarea){font:inherit;color:inherit;background:none;border:0;border-radius:0;-webkit-appearance:none;appearance:none}
:where(button){cursor:pointer}
:focus-visible{outline:3px solid #0b57a4;outline-offset:2px}
.launcher{position:fixed;z-index:2147483000;bottom:calc(20px + env(safe-area-inset-bottom,0px));right:calc(20px + env(safe-area-inset-right,0px));
display:flex;align-items:center;gap:8px;height:60px;padding:0 20px 0 6px;border-radius:30px;background:var(--p);color:var(--on-p);
font-weight:700;font-size:16px;box-shadow:0 4px 14px rgba(0,0,0,.28);transition:transform .15s}
.launcher:hover{transform:translateY(-2px)}
.launcher img{width:48px;height:48px;border-radius:50%;background:#fff;display:block}
.left .launcher{right:auto;left:calc(20px + env(safe-area-inset-left,0px))}
.panel{position:fixed;z-index:2147483001;bottom:calc(92px + env(safe-area-inset-bottom,0px));right:calc(20px + env(safe-area-inset-right,0px));
width:380px;height:min(640px,calc(100vh - 120px));display:flex;flex-direction:column;background:var(--bg);color:var(--fg);
border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.3);overflow:hidden;animation:mg-in .18s ease-out}
.left .panel{right:auto;left:calc(20px + env(safe-area-inset-left,0px))}
@keyframes mg-in{from{opacity:0;transform:translateY(12px)}to{opacity:1;transform:none}}
.head{display:flex;align-items:center;gap:8px;padding:10px 8px 10px 12px;background:var(--p);color:var(--on-p);flex:none}
.head img{width:40px;height:40px;border-radius:50%;background:#fff;flex:none;display:block}
.titles{flex:1;min-width:0}
.title{font-size:16px;font-weight:700;line-height:1.3;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.char{font-size:13px;line-height:1.3}
.langsel{position:relative;flex:none}
.langsel select{height:40px;max-width:108px;padding:0 8px;border:1px solid currentColor;border-radius:8px;background:transparent;font-size:14px;color:var(--on-p)}
.langsel select option{color:#1f2328;background:#fff}
.x{flex:none;width:44px;height:44px;display:grid;place-items:center;border-radius:8px;color:var(--on-p)}
.x svg{width:24px;height:24px;fill:currentColor}
.x:hover{background:rgba(255,255,255,.16)}
.log{flex:1;overflow-y:auto;overscroll-behavior:contain;padding:14px 12px;display:flex;flex-direction:column;gap:12px;background:var(--bg)}
.row{display:flex;gap:8px;align-items:flex-start;max-width:100%}
.row>img{width:32px;height:32px;border-radius:50%;flex:none;display:block;background:#fff;border:1px solid var(--line)}
.col{display:flex;flex-direction:column;gap:8px;min-width:0;max-width:calc(100% - 40px)}
.bubble{padding:9px 12px;border-radius:4px 14px 14px 14px;background:var(--bot);color:#1f2328;overflow-wrap:anywhere;word-break:normal;line-break:strict}
.user{justify-content:flex-end}
.user .bubble{background:var(--p);color:var(--on-p);border-radius:14px 4px 14px 14px;white-space:pre-wrap;max-width:85%}
.bubble a{color:var(--link);text-decoration:underline}
.bubble p+p,.bubble ul,.bubble ol,.bubble table,.bubble pre,.bubble blockquote,.bubble h3,.bubble h4{margin-top:6px}
.bubble ul,.bubble ol{padding-left:1.4em}
.bubble h3,.bubble h4{font-weight:700}
.bubble img{display:block;max-width:100%;height:auto;border-radius:8px;margin:6px 0}
.bubble table{border-collapse:collapse;display:block;overflow-x:auto}
.bubble th,.bubble td{border:1px solid var(--line);padding:3px 6px}
.bubble pre{white-space:pre-wrap}
.bubble blockquote{border-left:3px solid var(--line);padding-left:8px}
.q{font-weight:700;margin-bottom:4px}
.sub{font-size:13px;font-weight:700;margin-top:8px;color:#3a4046}
.files,.links{list-style:none;padding:0!important;display:flex;flex-direction:column;gap:4px;margin-top:4px}
.file{display:flex;align-items:center;gap:6px;min-height:36px;color:var(--link)}
.file svg{width:22px;height:22px;fill:#8a2d1f;flex:none}
.file small{color:#3a4046;font-size:13px;white-space:nowrap}
.err{background:#fdf0ee;color:#7a1d12;border:1px solid #e5b3ab}
.btns{display:flex;flex-wrap:wrap;gap:6px}
.btn{min-height:40px;padding:6px 12px;border:1.5px solid var(--p);border-radius:20px;background:var(--bg);color:var(--pt);text-align:left;font-size:14px;line-height:1.4}
.btn:hover{background:var(--bot)}
.btn:disabled{opacity:.7;cursor:default}
.btn[aria-pressed=true]{background:var(--p);color:var(--on-p)}
.fb .btn{border-radius:8px}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:10px 12px;color:#1f2328}
.card dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin-top:4px}
.card dt{font-weight:700;color:#3a4046;white-space:nowrap}
.card a{color:var(--link);text-decoration:underline}
.tel{display:inline-flex;align-items:center;gap:4px;font-weight:700}
.tel svg{width:18px;height:18px;fill:currentColor}
.typing .bubble{display:flex;gap:5px;align-items:center;height:38px}
.typing i{width:8px;height:8px;border-radius:50%;background:#5a6168;animation:mg-dot 1s infinite ease-in-out}
.typing i:nth-child(2){animation-delay:.15s}.typing i:nth-child(3){animation-delay:.3s}
@keyframes mg-dot{0%,80%,100%{opacity:.3;transform:translateY(0)}40%{opacity:1;transform:translateY(-3px)}}
.chips{display:flex;flex-wrap:wrap;gap:6px}
.warn{flex:none;margin:0 10px 8px;padding:10px 12px;border:2px solid #b3261e;border-radius:10px;background:#fff7f6;color:#5c1510}
.warn strong{display:block;font-weight:700;margin-bottom:2px}
.warn .btns{margin-top:8px}
.warn .btn{border-color:#b3261e;color:#8c1d18;background:#fff}
.warn .btn.primary{background:#1b6b3a;border-color:#1b6b3a;color:#fff}
.composer{flex:none;display:flex;align-items:flex-end;gap:8px;padding:8px 10px 4px;border-top:1px solid var(--line);background:var(--bg)}
textarea{flex:1;min-height:44px;max-height:140px;resize:none;padding:10px 12px;border:1.5px solid #7b838a;border-radius:10px;font-size:16px;line-height:1.4;background:#fff;color:#1f2328;overflow-y:auto}
textarea::placeholder{color:#5d646b;opacity:1}
.send{flex:none;width:44px;height:44px;border-radius:50%;display:grid;place-items:center;background:var(--p);color:var(--on-p)}
.send svg{width:22px;height:22px;fill:currentColor}
.send[aria-disabled=true]{opacity:.55;cursor:progress}
.notice{flex:none;padding:2px 12px calc(8px + env(safe-area-inset-bottom,0px));font-size:12px;line-height:1.5;color:var(--muted);background:var(--bg)}
.page .panel{inset:0;width:auto;height:var(--mg-vh,100vh);top:var(--mg-vtop,0px);bottom:auto;right:auto;left:0;width:100%;border-radius:0;box-shadow:none;animation:none}
.page .log,.page .composer,.page .notice{padding-left:max(12px,calc((100% - 820px)/2));padding-right:max(12px,calc((100% - 820px)/2))}
@media (min-width:481px) and (max-width:1024px){.panel{width:min(440px,calc(100vw - 40px));height:min(760px,calc(100vh - 130px))}}
@media (max-width:480px){
.launcher{padding:0;width:64px;height:64px;justify-content:center;bottom:calc(16px + env(safe-area-inset-bottom,0px));right:calc(16px + env(safe-area-inset-right,0px))}
.left .launcher{left:calc(16px + env(safe-area-inset-left,0px))}
.launcher span{position:absolute!important;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
.launcher img{width:52px;height:52px}
.panel,.left .panel{inset:auto;left:0;right:0;top:var(--mg-vtop,0px);bottom:auto;width:100%;height:var(--mg-vh,100vh);border-radius:0;
padding:env(safe-area-inset-top,0px) env(safe-area-inset-right,0px) 0 env(safe-area-inset-left,0px)}
.open .launcher{display:none}
.langsel select{max-width:92px}
}
@media (prefers-reduced-motion:reduce){*,*::before,*::after{animation:none!important;transition:none!important}}
@media (forced-colors:active){.bubble,.btn,.card,.warn{border:1px solid CanvasText}}
`;

  let sheet = null;
  function styleFor(root) {
    if ('adoptedStyleSheets' in Document.prototype && 'replaceSync' in CSSStyleSheet.prototype) {
      try {
        if (!sheet) { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); }
        root.adoptedStyleSheets = [sheet];
        return;
      } catch (_) { /* fall back to a <style> element */ }
    }
    root.append(h('style', { text: CSS }));
  }

  // ---------------------------------------------------------------- the element
  class MadoguchiChat extends HTMLElement {
    static get sanitize() { return sanitize; }
    static get looksPersonal() { return looksPersonal; }

    constructor() {
      super();
      this.root = this.attachShadow({ mode: 'open' });
      styleFor(this.root);
      this.settings = DEFAULTS;
      this.busy = false;
      this.composing = false;
      this.compositionEndedAt = -1e9;
      this.ready = null;
    }

    connectedCallback() {
      if (this.ready) return;
      this.page = (this.getAttribute('mode') || DATA_MODE) === 'page';
      this.sid = store.get('sid');
      if (typeof this.sid !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(this.sid)) {
        this.sid = newSessionId();
        store.set('sid', this.sid);
      }
      this.history = Array.isArray(store.get('history')) ? store.get('history') : [];
      this.ready = this.loadSettings().then(() => {
        this.uiLang = [store.get('lang'), this.getAttribute('lang'), DATA_LANG, this.settings.lang, 'ja']
          .find((l) => l && S[l]);
        this.build(this.page || store.get('open') === true);
        this.trackViewport();
        this.setAttribute('data-ready', '');
      });
    }

    async loadSettings() {
      const ctrl = new AbortController();
      const timer = setTimeout(() => ctrl.abort(), 5000);
      try {
        const res = await fetch(BASE + 'widget/settings.json', { credentials: 'omit', signal: ctrl.signal });
        if (res.ok) this.settings = { ...DEFAULTS, ...(await res.json()) };
      } catch (_) { /* defaults */ } finally { clearTimeout(timer); }
      const c = { ...DEFAULTS.colors, ...(this.settings.colors || {}) };
      for (const k of Object.keys(DEFAULTS.colors)) if (!isColor(c[k])) c[k] = DEFAULTS.colors[k];
      if (contrast(c.text, c.background) < 4.5) { c.text = DEFAULTS.colors.text; c.background = DEFAULTS.colors.background; }
      this.colors = c;
    }

    get t() { return S[this.uiLang] || S.ja; }

    // -------------------------------------------------------------- building the UI
    build(open) {
      const t = this.t, st = this.settings, c = this.colors;
      const avatar = safeUrl(st.avatar_url, true) || safeUrl(DEFAULTS.avatar_url, true);
      this.avatar = avatar;
      for (const n of [...this.root.childNodes]) if (n.localName !== 'style') n.remove();

      this.launcher = h('button', {
        class: 'launcher', type: 'button', 'aria-label': t.open, 'aria-expanded': 'false',
        'aria-controls': 'mg-panel', onclick: () => this.open(),
      }, h('img', { src: avatar, alt: '' }), h('span', { text: t.launcher }));

      this.langSelect = h('select', { 'aria-label': t.lang + ' / Language', onchange: (e) => this.setLang(e.target.value) },
        Object.entries(LANGS).map(([code, name]) => h('option', { value: code, lang: code, selected: code === this.uiLang }, name)));

      this.closeBtn = this.page ? null : h('button', {
        class: 'x', type: 'button', 'aria-label': t.close, onclick: () => this.close(),
      }, svg(ICON.close));

      this.log = h('div', { class: 'log', role: 'log', 'aria-live': 'off', 'aria-label': t.log, tabindex: '0' });
      this.live = h('div', { class: 'sr', 'aria-live': 'polite', 'aria-atomic': 'false', 'aria-relevant': 'additions' });

      this.input = h('textarea', {
        id: 'mg-input', rows: '1', placeholder: t.placeholder, enterkeyhint: 'send', autocomplete: 'off',
        maxlength: String(Number(st.max_chars) || 500), 'aria-describedby': 'mg-notice', lang: this.uiLang,
      });
      this.sendBtn = h('button', { class: 'send', type: 'submit', 'aria-label': t.send }, svg(ICON.send));
      this.form = h('form', { class: 'composer', onsubmit: (e) => { e.preventDefault(); this.submitTyped(); } },
        h('label', { class: 'sr', for: 'mg-input', text: t.input }), this.input, this.sendBtn);
      this.warnBox = h('div', { class: 'warn', role: 'alertdialog', 'aria-labelledby': 'mg-warn-t', 'aria-describedby': 'mg-warn-b', hidden: true });

      this.panel = h(this.page ? 'main' : 'section', {
        id: 'mg-panel', class: 'panel', role: this.page ? null : 'dialog', 'aria-labelledby': 'mg-title',
        tabindex: '-1', hidden: !open,
      },
      h('div', { class: 'head' },
        h('img', { src: avatar, alt: '' }),
        h('div', { class: 'titles' },
          h(this.page ? 'h1' : 'h2', { class: 'title', id: 'mg-title', text: st.title }),
          h('p', { class: 'char', text: st.character_name })),
        h('div', { class: 'langsel' }, this.langSelect),
        this.closeBtn),
      this.log, this.live, this.warnBox, this.form,
      h('p', { class: 'notice', id: 'mg-notice', text: t.notice }));

      this.wrap = h('div', {
        class: 'mg' + (st.position === 'bottom-left' ? ' left' : '') + (this.page ? ' page' : ''), lang: this.uiLang,
      }, this.page ? null : this.launcher, this.panel);
      this.wrap.style.setProperty('--p', c.primary);
      this.wrap.style.setProperty('--on-p', contrast(c.primary, '#ffffff') >= 4.5 ? '#ffffff' : '#111111');
      // Button text on the panel background: the primary colour only where it is readable.
      this.wrap.style.setProperty('--pt', contrast(c.primary, c.background) >= 4.5 ? c.primary : c.text);
      this.wrap.style.setProperty('--bg', c.background);
      this.wrap.style.setProperty('--fg', c.text);
      this.root.append(this.wrap);

      this.input.addEventListener('compositionstart', () => { this.composing = true; });
      this.input.addEventListener('compositionend', () => { this.composing = false; this.compositionEndedAt = performance.now(); });
      this.input.addEventListener('keydown', (e) => this.onKeyDown(e));
      this.input.addEventListener('input', () => this.autosize());
      this.root.addEventListener('keydown', (e) => {
        if (e.key !== 'Escape' || e.isComposing) return;
        if (!this.warnBox.hidden) { e.preventDefault(); this.hideWarning(true); } else if (!this.page && !this.panel.hidden) { e.preventDefault(); this.close(); }
      });

      if (!this.escBound) {
        this.escBound = true;
        document.addEventListener('keydown', (e) => {
          const lost = !document.activeElement || document.activeElement === document.body;
          if (e.key === 'Escape' && !e.isComposing && !e.defaultPrevented && lost && !this.page && this.panel && !this.panel.hidden) this.close();
        });
      }
      this.renderAll();
      if (open) this.markOpen(true);
    }

    setLang(lang) {
      if (!S[lang]) return;
      this.uiLang = lang;
      store.set('lang', lang);
      const draft = this.input.value;
      this.build(!this.panel.hidden);
      this.input.value = draft;
      this.langSelect.focus();
    }

    trackViewport() {
      const vv = window.visualViewport;
      const update = () => {
        const hgt = vv ? vv.height : window.innerHeight;
        this.style.setProperty('--mg-vh', Math.round(hgt) + 'px');
        this.style.setProperty('--mg-vtop', Math.round(vv ? vv.offsetTop : 0) + 'px');
      };
      update();
      (vv || window).addEventListener('resize', update);
      if (vv) vv.addEventListener('scroll', update);
    }

    // -------------------------------------------------------------- open / close
    open() {
      this.panel.hidden = false;
      this.markOpen(true);
      store.set('open', true);
      const fine = window.matchMedia && matchMedia('(pointer: fine)').matches;
      (fine ? this.input : this.panel).focus({ preventScroll: true });
      this.scrollToEnd();
    }

    close() {
      if (this.page) return;
      this.panel.hidden = true;
      this.markOpen(false);
      store.set('open', false);
      this.launcher.focus();
    }

    markOpen(open) {
      this.wrap.classList.toggle('open', open);
      this.launcher.setAttribute('aria-expanded', String(open));
      this.launcher.hidden = open && window.matchMedia && matchMedia('(max-width: 480px)').matches;
    }

    // -------------------------------------------------------------- input
    onKeyDown(e) {
      if (e.key !== 'Enter' && e.keyCode !== 13) return;
      // An IME is confirming a conversion: never send half-converted text.
      if (e.isComposing || e.keyCode === 229 || this.composing) return;
      // Safari fires compositionend before the confirming keydown.
      if (performance.now() - this.compositionEndedAt < 120) { e.preventDefault(); return; }
      if (e.shiftKey) return; // newline
      e.preventDefault();
      this.submitTyped();
    }

    autosize() {
      this.input.style.height = 'auto';
      this.input.style.height = Math.min(this.input.scrollHeight + 3, 140) + 'px';
    }

    submitTyped(force) {
      const text = this.input.value.trim();
      if (!text || this.busy) return;
      if (!force && looksPersonal(text)) { this.showWarning(); return; }
      this.hideWarning(false);
      this.input.value = '';
      this.autosize();
      this.send(text, text);
    }

    showWarning() {
      const t = this.t;
      const edit = h('button', { class: 'btn primary', type: 'button', onclick: () => this.hideWarning(true) }, t.piiEdit);
      const send = h('button', { class: 'btn', type: 'button', onclick: () => this.submitTyped(true) }, t.piiSend);
      this.warnBox.replaceChildren(
        h('strong', { id: 'mg-warn-t', text: t.piiTitle }), h('p', { id: 'mg-warn-b', text: t.piiBody }),
        h('div', { class: 'btns' }, edit, send));
      this.warnBox.hidden = false;
      edit.focus();
    }

    hideWarning(focusInput) {
      if (this.warnBox.hidden) return;
      this.warnBox.hidden = true;
      this.warnBox.replaceChildren();
      if (focusInput) this.input.focus();
    }

    // -------------------------------------------------------------- conversation
    async send(message, shown) {
      if (this.busy) return;
      this.busy = true;
      this.sendBtn.setAttribute('aria-disabled', 'true');
      if (shown != null) this.push({ r: 'u', t: shown });
      const typing = this.showTyping();
      let result;
      try { result = await this.post(message); } finally { typing.remove(); this.log.removeAttribute('aria-busy'); }
      this.busy = false;
      this.sendBtn.removeAttribute('aria-disabled');
      if (result.ok && Array.isArray(result.items) && result.items.length) {
        this.push({ r: 'b', items: result.items.filter((x) => x && typeof x === 'object') }, true);
      } else if (result.ok) {
        this.push({ r: 'e', code: 'empty', retry: message }, true);
      } else {
        this.push({ r: 'e', code: result.code, message: result.message, retry: result.code === 'too_large' ? null : message }, true);
      }
    }

    async post(message) {
      let last = { ok: false, code: 'unavailable' };
      for (let attempt = 0; attempt <= RETRIES; attempt++) {
        if (attempt) await sleep(700 * attempt);
        const ctrl = new AbortController();
        const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT);
        try {
          const res = await fetch(BASE + 'api/chat', {
            method: 'POST', credentials: 'omit', signal: ctrl.signal,
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ sender: this.sid, message }),
          });
          const data = await res.json().catch(() => null);
          if (res.ok) return { ok: true, items: Array.isArray(data) ? data : [] };
          last = { ok: false, code: (data && data.error) || 'generic', message: data && data.message };
          if (res.status !== 502 && res.status !== 503) return last; // 429, 413, 504: do not repeat
        } catch (err) {
          if (ctrl.signal.aborted) return { ok: false, code: 'timeout' };
          last = { ok: false, code: 'unavailable' };
        } finally { clearTimeout(timer); }
      }
      return last;
    }

    push(entry, announce) {
      this.history.push(entry);
      if (this.history.length > MAX_HISTORY) this.history.splice(0, this.history.length - MAX_HISTORY);
      this.save();
      const el = this.renderEntry(entry, this.history.length - 1);
      this.hideChips();
      this.log.append(el);
      this.scrollTo(el);
      if (announce) this.announce(el);
    }

    save() { store.set('history', this.history); }

    announce(el) {
      // Only the new message's own text goes into the live region; history never does.
      const text = el.textContent.replace(/\s+/g, ' ').trim().slice(0, 600);
      if (!text) return;
      this.live.append(h('p', { text }));
      while (this.live.childNodes.length > 3) this.live.firstChild.remove();
    }

    showTyping() {
      const el = h('div', { class: 'row typing', 'aria-hidden': 'true' },
        h('img', { src: this.avatar, alt: '' }), h('div', { class: 'bubble', title: this.t.typing }, h('i'), h('i'), h('i')));
      this.log.setAttribute('aria-busy', 'true');
      this.log.append(el);
      this.scrollToEnd();
      return el;
    }

    scrollToEnd() { this.log.scrollTop = this.log.scrollHeight; }

    scrollTo(el) {
      // A long answer is shown from its start; short ones keep the log pinned to the bottom.
      if (el.offsetHeight > this.log.clientHeight - 24) this.log.scrollTop = el.offsetTop - this.log.offsetTop - 8;
      else this.scrollToEnd();
    }

    // -------------------------------------------------------------- rendering
    renderAll() {
      const t = this.t, st = this.settings;
      this.log.replaceChildren();
      this.log.append(this.botRow(h('div', { class: 'bubble', lang: 'ja' }, linkify(st.welcome_message))));
      if (!this.history.some((e) => e.r === 'u')) {
        const chips = (st.suggested_questions || []).map((q) =>
          h('button', { class: 'btn', type: 'button', lang: 'ja', onclick: () => this.send(q, q) }, q));
        chips.push(h('button', { class: 'btn', type: 'button', onclick: () => this.send('/menu', t.menu) }, t.menu));
        this.chips = h('div', { class: 'chips', role: 'group', 'aria-label': t.examples }, chips);
        this.log.append(this.chips);
      }
      this.history.forEach((entry, i) => this.log.append(this.renderEntry(entry, i)));
    }

    hideChips() { if (this.chips) { this.chips.remove(); this.chips = null; } }

    botRow(...content) {
      return h('div', { class: 'row bot' }, h('img', { src: this.avatar, alt: '' }), h('div', { class: 'col' }, content));
    }

    renderEntry(entry, index) {
      const t = this.t;
      if (entry.r === 'u') {
        return h('div', { class: 'row user' }, h('p', { class: 'sr', text: t.you }), h('div', { class: 'bubble' }, String(entry.t || '')));
      }
      if (entry.r === 'e') {
        const text = (this.uiLang === 'ja' && entry.message) || t[entry.code] || t.generic;
        const retry = entry.retry && index === this.history.length - 1
          ? h('div', { class: 'btns' }, h('button', {
            class: 'btn', type: 'button', onclick: (e) => { e.currentTarget.disabled = true; this.keepFocus(); this.resend(entry.retry); },
          }, t.retry)) : null;
        return this.botRow(h('div', { class: 'bubble err', role: 'status' }, text), retry);
      }
      const parts = [];
      (entry.items || []).forEach((item, i) => {
        if (item.text) parts.push(h('div', { class: 'bubble', lang: 'ja' }, linkify(item.text)));
        if (item.image) {
          const src = safeUrl(item.image, true);
          if (src) parts.push(h('div', { class: 'bubble' }, h('img', { src, alt: '', loading: 'lazy', referrerpolicy: 'no-referrer' })));
        }
        const c = item.custom;
        if (c && typeof c === 'object') {
          if (c.type === 'answer') parts.push(this.answerCard(c));
          else if (c.type === 'contact') parts.push(this.contactCard(c));
          else if (c.type === 'error' && c.text) parts.push(h('div', { class: 'bubble err' }, linkify(c.text)));
        }
        if (Array.isArray(item.buttons) && item.buttons.length) parts.push(this.buttons(item, i, index));
      });
      return this.botRow(parts);
    }

    answerCard(c) {
      const t = this.t;
      const body = h('div', { class: 'bubble answer', lang: 'ja' });
      if (c.question) body.append(h('p', { class: 'q' }, String(c.question)));
      body.append(sanitize(c.html));
      const links = (Array.isArray(c.links) ? c.links : [])
        .map((l) => { const href = l && safeUrl(l.url, false); return href && h('li', null, h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, String(l.title || l.url), h('span', { class: 'sr', text: t.newtab }))); })
        .filter(Boolean);
      if (links.length) body.append(h('p', { class: 'sub', text: t.links }), h('ul', { class: 'links' }, links));
      const files = (Array.isArray(c.attachments) ? c.attachments : [])
        .map((a) => {
          const href = a && safeUrl(a.url, true);
          if (!href) return null;
          const size = formatSize(a.size, this.uiLang);
          return h('li', null, h('a', { class: 'file', href, target: '_blank', rel: 'noopener noreferrer' },
            svg(ICON.file), h('span', null, String(a.name || href.split('/').pop())), size ? h('small', null, `(${size})`) : null,
            h('span', { class: 'sr', text: t.newtab })));
        }).filter(Boolean);
      if (files.length) body.append(h('p', { class: 'sub', text: t.files }), h('ul', { class: 'files' }, files));
      for (const a of body.querySelectorAll('a[target=_blank]:not(:has(.sr))')) a.append(h('span', { class: 'sr', text: t.newtab }));
      return body;
    }

    contactCard(c) {
      const t = this.t;
      const rows = [];
      if (c.phone) {
        const tel = String(c.phone).normalize('NFKC').replace(/[^\d+]/g, '');
        rows.push(h('dt', { text: t.tel }), h('dd', null, tel ? h('a', { class: 'tel', href: 'tel:' + tel }, svg(ICON.phone), String(c.phone)) : String(c.phone)));
      }
      if (c.hours) rows.push(h('dt', { text: t.hours }), h('dd', null, String(c.hours)));
      if (c.email && /^[^\s@]+@[^\s@]+$/.test(c.email)) rows.push(h('dt', { text: t.mail }), h('dd', null, h('a', { href: 'mailto:' + c.email }, String(c.email))));
      const web = c.url && safeUrl(c.url, true);
      if (web) rows.push(h('dt', { text: t.web }), h('dd', null, h('a', { href: web, target: '_blank', rel: 'noopener noreferrer' }, String(c.url), h('span', { class: 'sr', text: t.newtab }))));
      return h('div', { class: 'card contact', lang: 'ja' },
        h('p', { class: 'sub', text: t.contact }), c.name ? h('p', { class: 'q' }, String(c.name)) : null, h('dl', null, rows));
    }

    buttons(item, itemIndex, entryIndex) {
      const list = item.buttons.filter((b) => b && typeof b.payload === 'string' && b.title != null);
      const feedback = list.length && list.every((b) => b.payload.startsWith('/feedback'));
      const group = h('div', { class: 'btns' + (feedback ? ' fb' : ''), role: 'group', lang: 'ja' });
      for (const b of list) {
        const btn = h('button', {
          class: 'btn', type: 'button', disabled: !!item.used,
          'aria-pressed': feedback ? String(item.used === b.payload) : null,
          onclick: () => {
            if (this.busy) return;
            if (feedback) {
              item.used = b.payload;
              this.history[entryIndex] && this.save();
              for (const x of group.children) { x.disabled = true; x.setAttribute('aria-pressed', String(x === btn)); }
              this.keepFocus();
            }
            this.send(b.payload, String(b.title));
          },
        }, String(b.title));
        group.append(btn);
      }
      return group;
    }

    keepFocus() {
      // A disabled button drops focus to <body>: keep it in the panel.
      const fine = window.matchMedia && matchMedia('(pointer: fine)').matches;
      (fine ? this.input : this.log).focus({ preventScroll: true });
    }

    resend(message) {
      // The failed message is already in the history: send it again without repeating it.
      this.send(message, null);
    }
  }

  customElements.define(TAG, MadoguchiChat);

  function mount() {
    if (!document.querySelector(TAG)) document.body.append(document.createElement(TAG));
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount);
  else mount();
})();
