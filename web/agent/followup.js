import { _, loadMessages } from "/static/js/i18n.js";
// "Initiate Video-Call" form: "+" adds a row, trash removes one, each row is
// checked before sending (the server checks again, services/followup.py).
loadMessages([document.documentElement.lang]);

const EMAIL = /^[^@\s<>"',;]+@[^@\s<>"',;]+\.[^@\s<>"',;]{2,}$/;
const PHONE = /^\+?[0-9 ()/.-]+$/;
const form = document.getElementById("followup-form");
const body = document.getElementById("rows");
let next = Math.max(0, ...[...body.querySelectorAll(".invite-row")].map((r) => Number(r.dataset.index))) + 1;

function rowError(row, name, text) {
  const input = row.querySelector(`[name^="${name}_"]`);
  const cell = input.closest("td");
  let p = cell.querySelector(".field-error");
  if (!text) {
    if (p) p.remove();
    cell.classList.remove("has-error");
    input.removeAttribute("aria-invalid");
    return true;
  }
  if (!p) { p = document.createElement("p"); p.className = "field-error"; p.id = `err-${input.name}`; cell.append(p); }
  p.textContent = text;
  cell.classList.add("has-error");
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", p.id);
  return false;
}

export function checkRow(row) {
  row.dataset.checked = "1";
  const via = row.querySelector('[name^="via_"]').value;
  const name = row.querySelector('[name^="name_"]').value.trim();
  const address = row.querySelector('[name^="address_"]').value.trim();
  let ok = rowError(row, "name", name ? "" : _("Contact name is required."));
  let msg = "";
  if (!address) msg = via === "email" ? _("Email is required.") : _("Mobile number is required.");
  else if (via === "email" && !EMAIL.test(address)) msg = _("Enter a valid email address, like name@example.com.");
  else if (via === "sms") {
    const digits = address.replace(/\D/g, "");
    if (!PHONE.test(address) || digits.length < 6 || digits.length > 15) msg = _("Enter a mobile number with country code, like +49 171 1234567.");
  }
  ok = rowError(row, "address", msg) && ok;
  return ok;
}

function wire(row) {
  row.querySelector(".trash").addEventListener("click", () => {
    if (body.querySelectorAll(".invite-row").length > 1) row.remove();
    else row.querySelectorAll("input").forEach((i) => { i.value = ""; });
  });
  // re-check while typing only after a row was once refused (no errors before the user is done)
  row.querySelectorAll("input, select").forEach((el) => el.addEventListener("change", () => {
    if (row.dataset.checked) checkRow(row);
  }));
  const via = row.querySelector('[name^="via_"]');
  const address = row.querySelector('[name^="address_"]');
  const placeholder = () => {
    address.type = via.value === "email" ? "email" : "tel";
    address.placeholder = via.value === "email" ? "name@example.com" : "+49 171 1234567";
  };
  via.addEventListener("change", placeholder);
  placeholder();
}

document.getElementById("add-row").addEventListener("click", () => {
  const template = body.querySelector(".invite-row");
  const row = template.cloneNode(true);
  const i = next++;
  row.dataset.index = String(i);
  delete row.dataset.checked;
  row.querySelectorAll(".field-error").forEach((p) => p.remove());
  row.querySelectorAll(".has-error").forEach((c) => c.classList.remove("has-error"));
  row.querySelectorAll("input, select").forEach((el) => {
    el.name = el.name.replace(/_\d+$/, `_${i}`);
    el.removeAttribute("aria-invalid");
    if (el.tagName === "INPUT") el.value = ""; else el.value = el.dataset.default;
  });
  body.append(row);
  wire(row);
  row.querySelector('[name^="name_"]').focus();
});

body.querySelectorAll(".invite-row").forEach(wire);
form.addEventListener("submit", (e) => {
  const results = [...body.querySelectorAll(".invite-row")].map(checkRow);
  if (results.includes(false)) {
    e.preventDefault();
    form.querySelector('[aria-invalid="true"]')?.focus();
  }
});
