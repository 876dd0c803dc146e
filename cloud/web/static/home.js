// The home page, live: the session card follows GET /api/v1/sessions
// without reloading, the copy buttons copy, and after "Start a session"
// the IDE opens by itself once the session is ready.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);

  for (const b of document.querySelectorAll("button.copy")) {
    b.addEventListener("click", async () => {
      const input = $(b.dataset.copy);
      const say = b.closest("section")?.querySelector(".copied");
      try {
        await navigator.clipboard.writeText(input.value);
      } catch {
        input.select();
        document.execCommand("copy");
      }
      if (say) say.textContent = "Copied to the clipboard.";
    });
  }

  const card = $("session");
  if (!card) return;
  const steps = ["In the queue", "Preparing your repo", "Cloning it into a container", "Starting the IDE", "Ready"];
  const OPEN = "gatewave.openWhenReady";

  function step(s) {
    switch (s.state) {
      case "queued": return 0;
      case "starting": case "restarting":
        if (s.phase === "cloning") return 2;
        if (s.phase === "connecting") return 3;
        return s.state === "restarting" && !s.phase ? 0 : 1;
      case "ready": return 4;
    }
    return -1;
  }
  function label(s) {
    switch (s.state) {
      case "queued": return s.position ? `Waiting for a container: number ${s.position} in the queue` : "Waiting for a container";
      case "starting": { const t = steps[Math.max(step(s), 1)]; return "Starting: " + t[0].toLowerCase() + t.slice(1); }
      case "restarting": return "Restarting in a fresh container from your last save";
      case "ready": return "Ready";
      case "reconnecting": return "Reconnecting: its node is out of touch";
      case "ending": return "Stopping: saving your work";
      case "ended": return "Stopped";
    }
    return s.state;
  }

  function show(s) {
    if (!s && card.dataset.state === "ended") return; // keep "Stopped" and its save
    const open = s && s.state !== "ended";
    card.dataset.state = s ? s.state : "none";
    card.dataset.id = open ? s.id : "";
    $("session-label").textContent = s ? label(s) : "No session running";
    const detail = $("session-detail");
    detail.textContent = (open && s.detail) || "";
    detail.hidden = !detail.textContent;
    const list = $("session-steps");
    const cur = open ? step(s) : -1;
    list.hidden = !open;
    list.replaceChildren(...steps.map((name, i) => {
      const li = document.createElement("li");
      li.textContent = name;
      if (cur > i) li.className = "done";
      if (cur === i) li.setAttribute("aria-current", "step");
      return li;
    }));
    const link = $("open-ide");
    link.hidden = !(s && s.state === "ready");
    if (s && s.url) link.href = s.url;
    const stop = $("stop-form");
    stop.hidden = !open || s.state === "ending";
    if (open) stop.action = `/api/v1/sessions/${encodeURIComponent(s.id)}/stop`;
    $("start-form").hidden = open;
    if (s && s.state === "ended") {
      const last = $("last-save");
      if (s.last_autosave) {
        last.textContent = "";
        last.append("Your work was saved to ", code("ide/autosave"), " (", code(s.last_autosave.slice(0, 12)), "); a new session restores it.");
        last.hidden = false;
        $("start-button").textContent = "Resume: start a session from your last save";
      }
    }
    if (s && s.state === "ready" && sessionStorage.getItem(OPEN)) {
      sessionStorage.removeItem(OPEN);
      location.assign(s.url);
    }
  }
  const code = (t) => { const c = document.createElement("code"); c.textContent = t; return c; };

  $("start-form").addEventListener("submit", () => sessionStorage.setItem(OPEN, "1"));
  $("stop-form").addEventListener("submit", () => sessionStorage.removeItem(OPEN));

  let last = "";
  async function poll() {
    const id = card.dataset.id;
    let s = null;
    try {
      const r = await fetch(id ? `/api/v1/sessions/${encodeURIComponent(id)}` : "/api/v1/sessions",
        { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" });
      if (r.status === 401) { location.assign("/signin"); return; }
      if (r.ok) s = await r.json();
      else if (r.status !== 404) throw new Error(String(r.status));
    } catch {
      return setTimeout(poll, 3000); // offline a moment: keep what is shown
    }
    const key = JSON.stringify(s);
    if (key !== last || (s && s.state === "ready")) show(s);
    last = key;
    const busy = s && !["ready", "ended"].includes(s.state);
    setTimeout(poll, busy ? 500 : 3000);
  }
  poll();
})();
