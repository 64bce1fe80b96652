// Behaviour of every back-office page (loaded by layout.html; the CSP allows
// no inline script or event-handler attributes):
// - "Copy" buttons: data-copy names the element whose text goes to the
//   clipboard; data-copied / data-copy-manual are the (translated) notes.
// - Forms with data-confirm ask that (translated) question before submitting.
(function () {
  "use strict";
  function note(button, text) {
    var out = button.nextElementSibling;
    if (out && out.classList.contains("copy-note")) out.textContent = text || "";
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var copied = function () { note(button, button.getAttribute("data-copied")); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(copied, function () { fallback(); });
    } else fallback();
    function fallback() {   // plain HTTP: select the text and copy it the old way
      source.focus(); if (source.select) source.select();
      try { if (document.execCommand("copy")) return copied(); } catch (err) { /* below */ }
      note(button, button.getAttribute("data-copy-manual"));
    }
  });
  document.addEventListener("submit", function (e) {
    var question = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  });
})();
