// reviewmgr's small behaviours that htmx does not cover. No inline scripts (the CSP forbids them).
"use strict";

(function () {
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function screenMain() {
    return document.getElementById("screen-main");
  }

  function clickKey(key) {
    const main = screenMain();
    const element = main && main.querySelector('[data-key="' + key + '"]:not([disabled])');
    if (element) {
      element.click();
      return true;
    }
    return false;
  }

  function chooseReason(number) {
    const select = document.querySelector("#screen-main select#id_reason");
    if (select && number < select.options.length) {
      select.selectedIndex = number;
      select.dispatchEvent(new Event("change"));
      return true;
    }
    return false;
  }

  function exclude() {
    const reason = document.querySelector("#screen-main #id_reason");
    if (reason && reason.dataset.required === "1" && !reason.value) {
      reason.focus();
      announce("Choose a reason (1 to 9), then press E.");
      return true;
    }
    return clickKey("e");
  }

  // A message box kept at the top of `container`, read out by screen readers (role status/alert).
  function messageBox(id, role, className, container) {
    let box = document.getElementById(id);
    if (!box && container) {
      box = document.createElement("p");
      box.id = id;
      box.className = className;
      box.setAttribute("role", role);
      container.prepend(box);
    }
    return box;
  }

  function announce(text) {
    const live = messageBox("screen-announce", "status", "message", screenMain());
    if (live) live.textContent = text;
  }

  // A decision is only ever taken on the record that is on screen, and has been for a moment:
  // a second key press of a quick double press must not decide the record that has just
  // replaced the first. While a decision (or undo) is on its way, the controls wait, and for
  // SETTLE_MS after a new record appears they wait too. `data-ready` on #screen-main says the
  // controls take input again (tests and assistive tools can wait for it).
  const SETTLE_MS = 300; // unless the page says otherwise (REVIEWMGR_SCREEN_SETTLE_MS)
  let readyAt = 0;
  let inFlight = false;
  let settled = null; // the #screen-main whose settling has been started

  function hold(main) {
    main.removeAttribute("data-ready");
    main.querySelectorAll("button[data-key]:not([disabled])").forEach(function (button) {
      button.disabled = true;
      button.dataset.held = "1";
    });
  }

  function release(main) {
    main.querySelectorAll("button[data-held]").forEach(function (button) {
      button.disabled = false;
      delete button.dataset.held;
    });
    main.removeAttribute("aria-busy");
    delete main.dataset.settling;
    main.dataset.ready = "1";
  }

  function ready() {
    return !inFlight && performance.now() >= readyAt;
  }

  function settleMs(main) {
    const given = Number.parseInt(main.dataset.settleMs, 10);
    return Number.isFinite(given) && given >= 0 ? given : SETTLE_MS;
  }

  function settle(main) {
    settled = main;
    const wait = settleMs(main);
    readyAt = performance.now() + wait;
    hold(main);
    main.dataset.settling = "1";
    window.setTimeout(function () {
      if (screenMain() === main && ready()) release(main);
    }, wait);
  }

  function deciding(main) {
    inFlight = true;
    hold(main);
    main.setAttribute("aria-busy", "true");
  }

  const initial = screenMain();
  if (initial) {
    settled = initial;
    release(initial);
  }

  // Back to a page kept by the browser after a plain POST left it: nothing is on its way now.
  window.addEventListener("pageshow", function (event) {
    const main = screenMain();
    if (event.persisted && main) {
      inFlight = false;
      readyAt = 0;
      release(main);
    }
  });

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    const main = screenMain();
    if (main && main.contains(event.detail.elt)) deciding(main);
  });

  document.body.addEventListener("htmx:afterSwap", function () {
    const main = screenMain();
    if (main && main !== settled) settle(main);
  });

  document.body.addEventListener("htmx:afterRequest", function () {
    const main = screenMain();
    if (!main || !inFlight) return;
    inFlight = false;
    if (performance.now() >= readyAt) release(main); // refused: the same record stays, usable
  });

  // Clicks (a mouse, a tap, Enter on a focused button) wait like keys, and a form that htmx has
  // not taken over must not be sent as a plain POST twice: the page is on its way.
  document.addEventListener(
    "click",
    function (event) {
      const control = event.target.closest && event.target.closest("#screen-main [data-key]");
      if (!control) return;
      const waits = control.tagName === "A" ? inFlight : !ready();
      if (waits) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );

  document.addEventListener(
    "submit",
    function (event) {
      const main = screenMain();
      if (!main || !main.contains(event.target)) return;
      if (!ready()) {
        event.preventDefault();
        event.stopImmediatePropagation();
      } else if (!event.target.hasAttribute("hx-post")) {
        inFlight = true;
        // held once the browser has read the form, so the pressed button's value is sent
        window.setTimeout(function () {
          deciding(main);
        }, 0);
      }
    },
    true,
  );

  document.addEventListener("keydown", function (event) {
    if (!screenMain() || event.ctrlKey || event.metaKey || event.altKey) return;
    const help = document.getElementById("help-dialog");
    if (event.target.closest && typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    const key = event.key;
    if (/^([iemuIEMU1-9]|ArrowLeft|ArrowRight)$/.test(key) && (event.repeat || !ready())) {
      // a key held down repeats, and a key pressed while the last decision is on its way or
      // just after the next record appeared was meant for the record before: ignored
      event.preventDefault();
      return;
    }
    let handled = false;
    if (key === "i" || key === "I") handled = clickKey("i");
    else if (key === "e" || key === "E") handled = exclude();
    else if (key === "m" || key === "M") handled = clickKey("m");
    else if (key === "u" || key === "U") handled = clickKey("u");
    else if (key === "ArrowLeft" || key === "ArrowRight") handled = clickKey(key);
    else if (/^[1-9]$/.test(key)) handled = chooseReason(Number(key));
    else if (key === "?" && help) {
      help.open ? help.close() : help.showModal();
      handled = true;
    }
    if (handled) event.preventDefault();
  });

  // A refused or failed htmx request must not fail silently: say what happened, where the user
  // looks. The server's own message (e.g. "nothing was saved") is shown when it sent one.
  function showError(text) {
    const main = document.querySelector("main") || document.body;
    messageBox("request-error", "alert", "message error", main).textContent = text;
  }

  document.body.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    const page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    const alert = page.querySelector("[role=alert]");
    const heading = page.querySelector("h1");
    const after = heading && heading.nextElementSibling;
    let said = alert ? alert.textContent.trim() : "";
    if (!said && heading) said = heading.textContent.trim() + (after ? ": " + after.textContent.trim() : "");
    showError(said || "The server answered with an error (" + xhr.status + "); nothing was saved. Try again.");
  });

  document.body.addEventListener("htmx:sendError", function () {
    showError("The server could not be reached, so nothing was saved. Check the connection and try again.");
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    const box = document.getElementById("request-error");
    if (box && event.detail.successful) box.remove();
  });

  // Answers save as they are typed (an hx-post per field, sent after a pause). Nothing typed may
  // be lost to a click that comes first: a form submitted or a link followed on the same page
  // waits until every answer waiting or on its way is saved; the browser asks before a page
  // with unsaved answers is closed. If a save fails, the click is not carried out.
  const unsent = new Set();
  let saving = 0;
  let failed = false;
  let waiting = null; // the click to carry out once the saves are in; the latest one wins

  function autosaving(element) {
    return element instanceof Element && element.matches('[hx-post][hx-trigger~="changed"]');
  }

  function pending() {
    return unsent.size > 0 || saving > 0;
  }

  function afterSaves(then) {
    const already = waiting !== null;
    waiting = then;
    if (already) return; // a second click while waiting replaces the first, never doubles it
    failed = false;
    unsent.forEach(function (field) {
      htmx.trigger(field, "change");
    });
    const wait = window.setInterval(function () {
      if (failed || !pending()) {
        window.clearInterval(wait);
        const next = waiting;
        waiting = null;
        if (!failed) next();
      }
    }, 50);
  }

  // The status beside an answer says "Saved" only once the value on screen is the one saved:
  // a change shows "Saving…" at once, and the answer to an earlier save that comes back after a
  // newer change (saves go one after another) does not overwrite it.
  function current(element) {
    return element.type === "checkbox" ? String(element.checked) : element.value;
  }

  function statusOf(element) {
    const target = element.getAttribute("hx-target");
    return target ? document.querySelector(target) : null;
  }

  function markSaving(element) {
    const status = statusOf(element);
    // a refusal stays until the server answers: it is long, and the page must not move under a
    // click that is on its way
    if (!status || status.querySelector(".saving, [data-rejected]")) return;
    const note = document.createElement("span");
    note.className = "saving";
    note.textContent = "Saving…";
    status.replaceChildren(note);
  }

  document.addEventListener("input", function (event) {
    if (!autosaving(event.target)) return;
    unsent.add(event.target);
    markSaving(event.target);
  });

  // a change sends its save at once (htmx saw it first), so it is not "unsent"
  document.addEventListener("change", function (event) {
    if (autosaving(event.target)) markSaving(event.target);
  });

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (!autosaving(event.detail.elt)) return;
    unsent.delete(event.detail.elt);
    event.detail.xhr.sentValue = current(event.detail.elt);
    saving += 1;
  });

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    const config = event.detail.requestConfig; // detail.elt is the swap target here
    const element = config && config.elt;
    if (!autosaving(element) || !event.detail.shouldSwap) return;
    const newer = Array.from(unsent).some(function (other) {
      return statusOf(other) === statusOf(element);
    });
    if (newer || event.detail.xhr.sentValue !== current(element)) event.detail.shouldSwap = false;
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (!autosaving(event.detail.elt)) return;
    saving = Math.max(0, saving - 1);
    if (!event.detail.successful) {
      failed = true;
      // still unsaved: the next click tries again, and closing the page still asks
      if (document.body.contains(event.detail.elt)) unsent.add(event.detail.elt);
      const status = statusOf(event.detail.elt);
      if (status) {
        const note = document.createElement("span");
        note.className = "error";
        note.textContent = "Not saved";
        status.replaceChildren(note);
      }
    }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!pending() || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    event.preventDefault();
    const submitter = event.submitter;
    afterSaves(function () {
      form.requestSubmit(submitter);
    });
  });

  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a[href]");
    if (!link || !pending() || event.defaultPrevented || event.button !== 0) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || link.target || link.hasAttribute("download")) return;
    if (link.getAttribute("href").startsWith("#")) return;
    event.preventDefault();
    afterSaves(function () {
      window.location.assign(link.href);
    });
  });

  // A value the server refused ("47,1") stays on screen as typed, marked as not saved, with the
  // server's message beside it; the saved answer is unchanged. Leaving the page asks first.
  const refused = new Set();

  // A row added or removed comes back as the table alone (hx-post on the rows form). Answers
  // still waiting to be saved in that table would be swapped away: they are saved first; a
  // refused value in it would be lost, so the extractor is asked before.
  document.body.addEventListener("htmx:confirm", function (event) {
    if (!(event.detail.elt instanceof HTMLFormElement)) return;
    const table = event.detail.target;
    const lost = [];
    refused.forEach(function (control) {
      if (table && table.contains(control) && document.body.contains(control)) {
        lost.push((control.getAttribute("aria-label") || control.name) + ": " + control.value);
      }
    });
    const question = "Not saved, and lost if the table changes now: " + lost.join("; ") + ". Change the table anyway?";
    if (lost.length && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (!pending()) return;
    event.preventDefault();
    afterSaves(function () {
      event.detail.issueRequest(true);
    });
  });

  function refusedOnScreen() {
    refused.forEach(function (control) {
      if (!document.body.contains(control)) refused.delete(control);
    });
    return refused.size > 0;
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    const status = event.detail.target;
    if (!(status instanceof Element) || !status.classList.contains("save-status")) return;
    const control = document.getElementById(status.id.replace(/-status$/, ""));
    if (!control) return;
    if (status.querySelector("[data-rejected]")) {
      refused.add(control);
      control.setAttribute("aria-invalid", "true");
      control.classList.add("unsaved");
    } else {
      refused.delete(control);
      control.removeAttribute("aria-invalid");
      control.classList.remove("unsaved");
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (pending() || refusedOnScreen()) event.preventDefault();
  });

  // A new table row takes the focus, so the extractor types its key straight away.
  document.body.addEventListener("htmx:load", function (event) {
    const row = event.detail.elt.querySelector && event.detail.elt.querySelector("tr[data-new-row]");
    const first = row && row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  });

  // A table's key columns stay in view while the extractor scrolls across its numbers: as many
  // of them as fit in two thirds of the table's width, so the numbers always keep some room.
  function placeKeyColumns(root) {
    if (!root.querySelectorAll) return;
    root.querySelectorAll("table.cells").forEach(function (table) {
      const scroller = table.closest(".table-scroll") || table;
      const room = (scroller.clientWidth * 2) / 3;
      const lefts = [];
      let left = 0;
      table.querySelectorAll("thead .sticky-col").forEach(function (head) {
        const width = head.getBoundingClientRect().width;
        const fits = lefts.indexOf(null) === -1 && left + width <= room;
        lefts.push(fits ? left : null);
        if (fits) left += width;
      });
      const last = lefts.lastIndexOf(lefts.filter(function (at) { return at !== null; }).pop());
      table.querySelectorAll("tr").forEach(function (row) {
        row.querySelectorAll(".sticky-col").forEach(function (cell, index) {
          const at = index < lefts.length ? lefts[index] : null;
          cell.classList.toggle("placed", at !== null);
          cell.classList.toggle("last-placed", at !== null && index === last);
          cell.style.left = at !== null ? at + "px" : "";
        });
      });
      // a focused cell is scrolled out from under the key columns, not behind them
      scroller.style.scrollPaddingLeft = left + "px";
    });
  }

  document.body.addEventListener("htmx:load", function (event) {
    placeKeyColumns(event.detail.elt);
  });
  window.addEventListener("resize", function () {
    placeKeyColumns(document);
  });
  placeKeyColumns(document);

  // A field required only in some cases (Strain, when the study is on animals) shows its star,
  // and says it is required to screen readers, only while its condition holds.
  function currentValues(name) {
    const values = [];
    document.querySelectorAll('[name="' + CSS.escape(name) + '"]').forEach(function (control) {
      if (control.type === "checkbox" || control.type === "radio") {
        if (control.checked) values.push(control.value);
      } else if (control.value.trim()) {
        values.push(control.value.trim());
      }
    });
    return values;
  }

  function showRequired(name) {
    const stars = document.querySelectorAll('[data-required-when="' + CSS.escape(name) + '"]');
    if (!stars.length) return;
    const values = currentValues(name);
    stars.forEach(function (star) {
      const wanted = JSON.parse(star.dataset.requiredValues || "[]");
      const holds = values.some(function (value) {
        return wanted.indexOf(value) !== -1;
      });
      star.hidden = !holds;
      const label = star.closest("label");
      const control = label && document.getElementById(label.htmlFor);
      if (!control) return;
      if (holds) control.setAttribute("aria-required", "true");
      else control.removeAttribute("aria-required");
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.name) showRequired(event.target.name);
  });
  document.addEventListener("input", function (event) {
    if (event.target.name) showRequired(event.target.name);
  });

  // After htmx brings the next record, move focus to it so screen readers and keys follow.
  document.body.addEventListener("htmx:afterSwap", function () {
    const title = document.getElementById("record-title");
    if (title) {
      title.setAttribute("tabindex", "-1");
      title.focus({ preventScroll: false });
    }
  });
})();
