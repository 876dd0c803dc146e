// The operator dashboard, live: every 2 s the page fetches its live part
// (GET /admin/ops/live, rendered and escaped by the server's templates)
// and swaps it in without reloading; the status line says when it last
// came, or that the cloud is out of reach (what is shown is kept).
"use strict";
(() => {
  const live = document.getElementById("ops-live");
  const said = document.getElementById("ops-updated");
  if (!live) return;
  const EVERY = 2000;
  let last = "";
  let failing = false;

  async function poll() {
    try {
      const r = await fetch("/admin/ops/live", { headers: { Accept: "text/html" }, cache: "no-store", credentials: "same-origin", redirect: "manual" });
      if (r.type === "opaqueredirect" || r.status === 401) { location.assign("/signin"); return; }
      if (r.status === 403) { said.textContent = "You are no longer an admin: updates stopped."; return; }
      if (!r.ok) throw new Error(String(r.status));
      const html = await r.text();
      if (html !== last) {
        const doc = new DOMParser().parseFromString(html, "text/html");
        live.replaceChildren(...doc.body.childNodes);
        last = html;
      }
      live.dataset.updated = String(Date.now());
      if (failing) said.textContent = "Updating again.";
      failing = false;
    } catch {
      if (!failing) said.textContent = "The cloud is out of reach: showing the last figures.";
      failing = true;
    }
    setTimeout(poll, EVERY);
  }
  setTimeout(poll, EVERY);
})();
