/* The agent console, progressively enhanced (no build step; every form also works without it).
 *
 * - Links and forms inside the inbox load in place (fetch + DOM swap); history keeps real URLs,
 *   so back and reload land on the same case.
 * - /desk/events names the cases that changed: only the rows shown here (and the tab counts)
 *   are patched, the open transcript re-fetched when its case changed, and the whole list when
 *   cases may have moved between lists; a new hand-off or a client message on one of my cases
 *   raises a notification, a short sound (mutable) and a count in the tab title.
 * - `/` in the reply opens the standard phrases (rendered by the server with the client's and
 *   the agent's names); Enter sends, Shift+Enter is a new line (or the other way round, as
 *   the agent chose on /desk/account); `?` lists the shortcuts.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  const inbox = document.getElementById("inbox");
  if (!inbox) return;
  const parser = new DOMParser();
  const serverOffset = Date.parse(inbox.dataset.now) - Date.now();
  let seen = inbox.dataset.seen || "";
  let counts = readCounts(document);
  /* A client joined the queue since the last counts: announced even when the waiting count
     did not grow (a colleague took a case in the same moment). */
  let newWaiting = false;

  function caseId() {
    const found = location.pathname.match(/^\/desk\/cases\/(\d+)$/);
    return found ? found[1] : "";
  }
  function parse(html) { return parser.parseFromString(html, "text/html"); }
  function replace(doc, id) {
    const fresh = doc.getElementById(id), old = document.getElementById(id);
    if (fresh && old) { old.replaceWith(document.adoptNode(fresh)); return true; }
    return false;
  }
  function readCounts(doc) {
    const tabs = doc.getElementById("tabs");
    return tabs ? {waiting: +tabs.dataset.waiting, unread: +tabs.dataset.mineUnread} : null;
  }
  function markCurrent() {
    const id = caseId();
    document.querySelectorAll(".case-row").forEach(function (row) {
      row.classList.toggle("current", row.dataset.case === id);
    });
    inbox.classList.toggle("has-case", id !== "");
  }
  function setup() {
    markCurrent();
    tick();
    const data = document.getElementById("phrase-data");
    phrases = data ? JSON.parse(data.textContent) : [];
  }

  /* --- loading in place --- */
  async function load(url, options, push) {
    const target = new URL(url, location.href);
    const answer = await fetch(target, options || {headers: {"X-Desk-Part": "case"}});
    if (answer.status >= 500 || (answer.redirected && !answer.url.includes("/desk"))) {
      location.assign(answer.url); return;  /* the login page, or a fault: a real navigation */
    }
    const doc = parse(await answer.text());
    const landed = new URL(answer.url);
    if (push === "push") history.pushState({}, "", landed);
    else if (push === "replace" || answer.redirected) history.replaceState({}, "", landed);
    if (!doc.getElementById("case-pane")) { location.assign(landed); return; }  /* not ours */
    const full = replace(doc, "list-live");
    if (full) notifyIfNew(readCounts(document));
    replace(doc, "case-pane");
    replace(doc, "client-pane");
    if (doc.title) document.title = doc.title;
    showCount();
    setup();
    const reply = document.getElementById("reply-text");
    if (reply && options && options.method === "POST") reply.focus();
  }
  function listUrl() {
    const query = new URLSearchParams(location.search);
    if (caseId()) query.set("case", caseId());
    return "/desk/fragments/queue?" + query.toString();
  }
  /* --- live refresh: the whole list, some rows, the transcript ---
     At most one request at a time and one per REFRESH_GAP ms: with many clients writing, the
     stream has news all the time, and fifty consoles must not refetch back to back. A notice
     that only names cases asks for those rows (`rows=`) and the tab counts, not the list. */
  const REFRESH_GAP = 500;
  let busy = false, lastRefresh = 0, timer = 0;
  let wantList = false, wantTranscript = false, wantCounts = false;
  const wantRows = new Set();
  function refreshSoon() { wantList = true; wantTranscript = true; schedule(); }
  function schedule() {
    if (timer || busy) return;
    const wait = Math.max(0, lastRefresh + REFRESH_GAP - Date.now());
    timer = setTimeout(function () { timer = 0; refreshLive(); }, wait);
  }
  async function refreshLive() {
    if (busy) return;  /* the finally below schedules what is still wanted */
    busy = true;
    lastRefresh = Date.now();
    const list = wantList, rows = Array.from(wantRows), counted = wantCounts, transcript = wantTranscript;
    wantList = wantCounts = wantTranscript = false;
    wantRows.clear();
    try {
      if (list) {
        const answer = await fetch(listUrl());
        if (answer.ok) {
          const doc = parse("<div id='list-live'>" + await answer.text() + "</div>");
          replace(doc, "list-live");
          notifyIfNew(readCounts(document));
        }
      } else if (rows.length || counted) {
        const answer = await fetch(listUrl() + "&rows=" + rows.join(","));
        if (answer.ok && !patchRows(parse(await answer.text()), rows)) wantList = true;
      }
      const id = caseId(), live = document.getElementById("live");
      if (transcript && id && live) {
        const part = await fetch(live.dataset.fragment);
        if (part.ok) live.innerHTML = await part.text();
      }
      setup();
    } finally {
      busy = false;
      if (wantList || wantRows.size || wantCounts || wantTranscript) schedule();
    }
  }
  /* Put the fresh rows and counts in place; false when a row left the list (refresh it all). */
  function patchRows(doc, asked) {
    if (!replace(doc, "tabs")) return false;
    for (const id of asked) {
      const fresh = doc.querySelector('.case-row[data-case="' + id + '"]');
      const old = document.querySelector('#list-live .case-row[data-case="' + id + '"]');
      if (!old) continue;
      if (!fresh) return false;
      old.replaceWith(document.adoptNode(fresh));
    }
    notifyIfNew(readCounts(document));
    return true;
  }
  /* The open case's only news is a message this page already shows (the agent's own reply,
     whose answer carried the fresh transcript): nothing to fetch. */
  function alreadyShown(data, id) {
    const newest = (data.newest || {})[id];
    if (newest === undefined || (data.events || []).indexOf(id) >= 0) return false;
    const last = document.querySelector("#transcript li[data-id]:last-child");
    return !!last && +last.dataset.id >= newest;
  }
  function shown(id) { return !!document.querySelector('#list-live .case-row[data-case="' + id + '"]'); }

  document.addEventListener("click", function (event) {
    const link = event.target.closest("a[data-nav]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    let url = new URL(link.href);
    if (link.closest("#tabs") && caseId() && window.innerWidth > 760) {
      url = new URL(location.pathname + url.search, location.href);  /* keep the case open */
    }
    const isCase = /^\/desk\/cases\/\d+$/.test(url.pathname);
    load(url, isCase && !link.closest("#tabs") ? {headers: {"X-Desk-Part": "case"}} : {}, "push");
  });
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.id === "search") {
      event.preventDefault();
      const query = new URLSearchParams(new FormData(form));
      for (const [key, value] of Array.from(query.entries())) if (!value) query.delete(key);
      const path = caseId() && window.innerWidth > 760 ? location.pathname : "/desk";
      load(path + "?" + query.toString(), {}, "push");
      return;
    }
    if (form.method.toLowerCase() !== "post" || !form.closest("#case-pane, #client-pane")) return;
    event.preventDefault();
    const button = event.submitter;
    const body = new FormData(form);
    if (button && button.name) body.append(button.name, button.value);
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    load(form.action, {method: "POST", body: body, headers: {"X-Desk-Part": "case"}}, "replace")
      .catch(function () { form.submit(); });
  });
  window.addEventListener("popstate", function () { load(location.href, caseId() ? {headers: {"X-Desk-Part": "case"}} : {}, null).then(refreshSoon); });

  /* --- live: the event stream, waited time, notifications --- */
  /* `since`: the first line also names what changed after this page was rendered */
  const events = new EventSource("/desk/events?since=" + encodeURIComponent(seen));
  const me = +inbox.dataset.me;
  events.onmessage = function (message) {
    const data = JSON.parse(message.data);
    const mark = data.message + "," + data.event;
    if (mark === seen) return;
    seen = mark;
    if (data.queued && data.queued.length) newWaiting = true;  /* said by the next counts */
    if (!data.cases || data.all || data.counts) { refreshSoon(); return; }  /* the first line, or lists moved */
    data.cases.forEach(function (id) { if (shown(id)) wantRows.add(id); });
    if (data.owners.indexOf(me) >= 0) wantCounts = true;  /* my unread count may have moved */
    const open = +caseId();
    if (data.cases.indexOf(open) >= 0 && !alreadyShown(data, open)) wantTranscript = true;
    if (wantRows.size || wantCounts || wantTranscript) schedule();
  };
  function waited(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    const pad = function (n) { return String(n).padStart(2, "0"); };
    if (seconds < 3600) return Math.floor(seconds / 60) + "m " + pad(seconds % 60) + "s";
    return Math.floor(seconds / 3600) + "h " + pad(Math.floor(seconds % 3600 / 60)) + "m";
  }
  function tick() {
    const now = Date.now() + serverOffset;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = waited((now - Date.parse(el.dataset.since)) / 1000);
    });
  }
  setInterval(tick, 1000);

  const mute = document.getElementById("mute");
  function muted() { return localStorage.getItem("desk-muted") === "1"; }
  function showMute() {
    mute.textContent = muted() ? mute.dataset.off : mute.dataset.on;
    mute.setAttribute("aria-pressed", muted() ? "true" : "false");
  }
  mute.addEventListener("click", function () { localStorage.setItem("desk-muted", muted() ? "0" : "1"); showMute(); });
  showMute();
  const notifyOn = document.getElementById("notify-on");
  if ("Notification" in window && Notification.permission === "default") notifyOn.hidden = false;
  notifyOn.addEventListener("click", function () {
    Notification.requestPermission().then(function () { notifyOn.hidden = true; });
  });
  function beep() {
    if (muted()) return;
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880; gain.gain.value = 0.1;
      tone.connect(gain); gain.connect(audio.destination);
      tone.start(); tone.stop(audio.currentTime + 0.15);
    } catch (err) { /* no audio device: the title and the notification still tell */ }
  }
  function notifyIfNew(fresh) {
    if (!fresh || !counts) { counts = fresh; return; }
    const lines = [];
    const joined = newWaiting && fresh.waiting > 0;
    newWaiting = false;
    if (fresh.waiting > counts.waiting || joined) lines.push(inbox.dataset.tHandoff + " (" + fresh.waiting + ")");
    if (fresh.unread > counts.unread) lines.push(inbox.dataset.tMessage);
    counts = fresh;
    showCount();
    if (!lines.length) return;
    beep();
    if ("Notification" in window && Notification.permission === "granted") {
      new Notification("Loket", {body: lines.join("\n"), tag: "loket-desk"});
    }
  }
  function showCount() {
    /* waiting cases plus client messages on my cases: seen from any other tab */
    const total = counts ? counts.waiting + counts.unread : 0;
    document.title = (total ? "(" + total + ") " : "") + document.title.replace(/^\(\d+\) /, "");
  }

  /* --- the composer: / phrases, Enter sends --- */
  let phrases = [], choices = [], chosen = 0;
  function menu() { return document.getElementById("phrase-menu"); }
  function slashTerm(box) {
    const before = box.value.slice(0, box.selectionStart);
    const found = before.match(/(?:^|\s)\/([^\s/]*)$/);
    return found ? found[1].toLowerCase() : null;
  }
  function showMenu(box) {
    const term = slashTerm(box), list = menu();
    if (term === null || !list) { closeMenu(); return; }
    choices = phrases.filter(function (p) {
      return p.key.toLowerCase().includes(term) || p.text.toLowerCase().includes(term);
    });
    chosen = Math.min(chosen, Math.max(choices.length - 1, 0));
    list.replaceChildren();
    choices.forEach(function (p, n) {
      const option = document.createElement("div");
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", n === chosen ? "true" : "false");
      option.dataset.key = p.key;
      const key = document.createElement("span");
      key.className = "key"; key.textContent = p.key;
      const text = document.createElement("span");
      text.textContent = p.text;
      option.append(key, text);
      option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(box, n); });
      list.append(option);
    });
    if (!choices.length) {
      const none = document.createElement("div");
      none.className = "muted"; none.textContent = inbox.dataset.tNomatch;
      list.append(none);
    }
    list.hidden = false;
  }
  function closeMenu() { const list = menu(); if (list) list.hidden = true; choices = []; chosen = 0; }
  function choose(box, n) {
    const phrase = choices[n];
    if (!phrase) return;
    const caret = box.selectionStart;
    const before = box.value.slice(0, caret).replace(/\/[^\s/]*$/, "");
    box.value = before + phrase.text + box.value.slice(caret);
    const at = (before + phrase.text).length;
    box.setSelectionRange(at, at);
    closeMenu();
    box.focus();
  }
  let typingSent = 0;
  function sayTyping() {
    /* the client's web chat shows "… sedang mengetik" while the agent writes */
    const form = document.getElementById("reply-form");
    if (!form || Date.now() - typingSent < 3000) return;
    typingSent = Date.now();
    const token = document.querySelector('meta[name="csrf-token"]').content;
    fetch(form.action.replace(/\/reply(\?.*)?$/, "/typing"), {method: "POST", headers: {"X-CSRF-Token": token}});
  }
  document.addEventListener("input", function (event) {
    if (event.target.id === "reply-text") { showMenu(event.target); sayTyping(); }
  });
  document.addEventListener("keydown", function (event) {
    const box = event.target;
    if (box.id === "reply-text") {
      const open = menu() && !menu().hidden && choices.length;
      if (open && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
        event.preventDefault();
        chosen = (chosen + (event.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length;
        showMenu(box);
      } else if (open && (event.key === "Enter" || event.key === "Tab")) {
        event.preventDefault(); choose(box, chosen);
      } else if (event.key === "Escape") {
        closeMenu();
      } else if (event.key === "Enter" && event.shiftKey === (box.dataset.enterSends === "0") && !event.isComposing) {
        /* Enter sends, or Shift+Enter does: the agent's choice on /desk/account */
        event.preventDefault();
        const file = document.getElementById("reply-file");  /* a file goes with no text too */
        if (box.value.trim() || (file && file.files.length)) box.form.requestSubmit();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || box.closest("input, textarea, select, [contenteditable]")) return;
    const click = function (id) { const el = document.getElementById(id); if (el) { event.preventDefault(); el.click(); } };
    if (event.key === "j" || event.key === "k") {
      const rows = Array.from(document.querySelectorAll(".case-row a"));
      if (!rows.length) return;
      const at = rows.findIndex(function (a) { return a.closest(".current"); });
      const next = at < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, at + (event.key === "j" ? 1 : -1)));
      event.preventDefault(); rows[next].click();
    } else if (event.key === "t") click("take");
    else if (event.key === "e") click("resolve");
    else if (event.key === "r" || event.key === "s") {
      const el = document.getElementById(event.key === "r" ? "reply-text" : "q");
      if (el) { event.preventDefault(); el.focus(); }
    } else if (event.key === "?") { event.preventDefault(); document.getElementById("help").showModal(); }
  });
  document.getElementById("help-open").addEventListener("click", function () { document.getElementById("help").showModal(); });

  showCount();
  setup();
})();

/* Presence: choosing saves at once (the form's button is for pages without script). */
(function () {
  "use strict";
  const form = document.getElementById("presence");
  if (!form) return;
  form.querySelector("select").addEventListener("change", function () { form.requestSubmit(); });
})();
