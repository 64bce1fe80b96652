// "Copy" buttons: data-copy names the element whose text goes to the clipboard.
(function () {
  "use strict";
  function note(button, text) {
    var out = button.nextElementSibling;
    if (out && out.classList.contains("copy-note")) out.textContent = text;
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var copied = function () { note(button, "Copied"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(copied, function () { fallback(); });
    } else fallback();
    function fallback() {   // plain HTTP: select the text and copy it the old way
      source.focus(); if (source.select) source.select();
      try { if (document.execCommand("copy")) return copied(); } catch (err) { /* below */ }
      note(button, "Press Ctrl+C to copy");
    }
  });
})();
