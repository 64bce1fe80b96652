// Live "characters left in one SMS after the link" counter for textareas with
// data-sms-counter (branding page). Mirrors services/sms_text.py: GSM-7 basic
// characters cost 1, extension characters (^{}\[~]|€ and form feed) 2; any other
// character switches to UCS-2 (UTF-16 code units, 70 per SMS).
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXT = "\f^{}\\[~]|€";
  function count(text) {
    var gsm = true, units = 0, i, ch;
    for (i = 0; i < text.length; i++) {
      ch = text.charAt(i);
      if (EXT.indexOf(ch) >= 0) units += 2;
      else if (BASIC.indexOf(ch) >= 0) units += 1;
      else { gsm = false; break; }
    }
    if (!gsm) units = text.length;  // JS strings are UTF-16 code units
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    return { gsm: gsm, units: units, single: single, segments: units <= single ? 1 : Math.ceil(units / multi) };
  }
  function update(area) {
    var out = document.getElementById("count-" + area.getAttribute("data-sms-counter"));
    if (!out) return;
    var text = (area.value || area.placeholder || "").trim();
    var link = area.getAttribute("data-link") || "";
    var c = count(text ? text + " " + link : link);
    var left = c.single - c.units;
    // The sentences come translated from the page (data-left, data-over).
    var sentence = left >= 0 ? area.getAttribute("data-left") : area.getAttribute("data-over");
    var values = { left: left, total: c.single, count: c.segments };
    sentence = (sentence || "").replace(/%\((\w+)\)s/g, function (m, key) { return key in values ? values[key] : m; });
    out.textContent = sentence + " (" + (c.gsm ? "GSM-7" : "Unicode (UCS-2)") + ").";
  }
  function init() {
    var areas = document.querySelectorAll("textarea[data-sms-counter]");
    for (var i = 0; i < areas.length; i++) {
      (function (a) { a.addEventListener("input", function () { update(a); }); update(a); })(areas[i]);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
