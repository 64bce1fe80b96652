/* Vidzzle call button (docs/embed.md). <script src="https://HOST/embed.js"></script> plus
   <button id="btn-cwbbb-osr" data-cwbbb-igh="EMBED-ID" data-cwbbb-name="Name" data-cwbbb-gdpr="1">.
   One global (window.cwbbb); safe loaded twice and before the button exists (delegation). */
(function (w, d) {
  "use strict";
  if (w.cwbbb && w.cwbbb.v) return;
  var me = d.currentScript, base = me && me.src ? new URL(me.src, location.href).origin : location.origin;
  var ns = w.cwbbb = { v: 1, base: base, open: null };
  var DAY = 86400, P = "cwbbb-";

  function cookieName(id) { return "cwbbb_gdpr_" + id.replace(/[^A-Za-z0-9_-]/g, ""); }
  function consented(id) { return d.cookie.split("; ").indexOf(cookieName(id) + "=1") >= 0; }
  function remember(id) {
    d.cookie = cookieName(id) + "=1; max-age=" + 14 * DAY + "; path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }
  function el(tag, css, text) {
    var e = d.createElement(tag); if (css) e.style.cssText = css; if (text) e.textContent = text; return e;
  }
  function overlay() {
    var o = el("div", "position:fixed;inset:0;z-index:2147483646;background:rgba(0,0,0,.6);display:flex;" +
      "align-items:center;justify-content:center;font:16px system-ui,sans-serif");
    o.className = P + "overlay"; o.setAttribute("role", "dialog"); o.setAttribute("aria-modal", "true");
    d.body.appendChild(o); return o;
  }
  function close() { if (ns.open) { ns.open.remove(); ns.open = null; } }

  function consent(id, done) {
    var o = ns.open = overlay();
    var box = el("div", "background:#fff;color:#222;max-width:32rem;margin:1rem;padding:1.5rem;border-radius:8px;max-height:80vh;overflow:auto");
    box.className = P + "gdpr";
    var text = el("div", "white-space:pre-wrap;margin-bottom:1rem", "…");
    var ok = el("button", "padding:.5rem 1rem;margin-right:.5rem", "Accept and start the call");
    var no = el("button", "padding:.5rem 1rem", "Cancel");
    ok.className = P + "accept"; no.className = P + "cancel";
    box.appendChild(el("h2", "margin:0 0 .75rem;font-size:1.2rem", "Privacy notice"));
    box.appendChild(text); box.appendChild(ok); box.appendChild(no); o.appendChild(box);
    fetch(base + "/api/embed/" + encodeURIComponent(id) + "/gdpr").then(function (r) { return r.json(); })
      .then(function (j) { text.textContent = j.text || ""; }, function () { text.textContent = "(notice unavailable)"; });
    no.onclick = close;
    ok.onclick = function () { remember(id); close(); done(); };
  }

  function start(btn) {
    var id = btn.getAttribute("data-cwbbb-igh") || "";
    var name = btn.getAttribute("data-cwbbb-name") || "Customer";
    var go = function () {
      var o = ns.open = overlay();
      var f = el("iframe", "width:min(960px,96vw);height:min(720px,92vh);border:0;border-radius:8px;background:#111");
      f.className = P + "frame"; f.title = "Video call";
      f.allow = "camera; microphone; autoplay; fullscreen";
      f.src = base + "/call?embed=" + encodeURIComponent(id) + "&name=" + encodeURIComponent(name) + "&t0=" + Date.now();
      o.appendChild(f);
    };
    if (ns.open) return;
    if (btn.getAttribute("data-cwbbb-gdpr") === "1" && !consented(id)) consent(id, go); else go();
  }

  d.addEventListener("click", function (e) {
    var t = e.target && e.target.closest ? e.target.closest("#btn-cwbbb-osr,[data-cwbbb-igh]") : null;
    if (!t) return;
    e.preventDefault(); start(t);
  });
  w.addEventListener("message", function (e) {
    if (e.origin !== base || !e.data || e.data.cwbbb == null) return;
    if (e.data.cwbbb === "redirect" && /^https?:/i.test(e.data.url || "")) location.href = e.data.url;
    else if (e.data.cwbbb === "close") close();
  });
})(window, document);
