// Translations for the browser pages: the server's catalog for one language
// (/i18n/messages.json, the same gettext catalogs as the back office).
// Messages are looked up by their English msgid; %(name)s placeholders are
// filled from `values`. Static text is marked data-i18n (the element's text)
// or data-i18n-attr="aria-label title" (those attributes).
const state = { language: "en", messages: {} };

export function _(message, values) {
  const text = state.messages[message] || message;
  return values ? text.replace(/%\((\w+)\)s/g, (m, key) => (key in values ? String(values[key]) : m)) : text;
}

export function language() { return state.language; }

export async function loadMessages(wanted, embed = "") {
  const query = new URLSearchParams({ lang: wanted.filter(Boolean).join(",") });
  if (embed) query.set("embed", embed);
  try {
    const res = await fetch(`/i18n/messages.json?${query}`);
    if (res.ok) Object.assign(state, await res.json());
  } catch (err) { /* the English texts stay */ }
  document.documentElement.lang = state.language;
  return state.language;
}

export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = _(el.textContent.replace(/\s+/g, " ").trim());
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const attr of el.getAttribute("data-i18n-attr").split(/\s+/)) {
      if (el.hasAttribute(attr)) el.setAttribute(attr, _(el.getAttribute(attr)));
    }
  }
}
