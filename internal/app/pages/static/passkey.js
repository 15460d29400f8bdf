// Passkeys: add one on the account page (form#passkey-add), sign in with one
// on the sign-in and second-step pages (button[data-passkey-login]).
// Static and loaded with the page's nonce: no inline script anywhere.
//
// Each ceremony is two requests: begin returns the options (binary values
// in base64url), the browser asks the authenticator, finish posts its
// answer as JSON and answers with a redirect, which is followed. Both carry
// the page's CSRF token in the X-CSRFToken header.
"use strict";
(() => {
  if (!window.PublicKeyCredential || !navigator.credentials) return;
  const tokenMeta = document.querySelector('meta[name="csrf-token"]');
  const token = tokenMeta ? tokenMeta.content : "";

  const toBytes = (s) => {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  };
  const fromBytes = (buf) => {
    let bin = "";
    for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  const messages = {
    400: "That passkey request expired or was already used. Try again.",
    401: "That passkey was not accepted here.",
    403: "This page is too old. Reload it and try again.",
    404: "Passkeys are not available here.",
    409: "This passkey is already registered.",
    413: "The passkey's answer was too large.",
    429: "Too many attempts. Wait a minute and try again.",
  };
  const explain = (status) => messages[status] || "Something went wrong. Try again in a moment.";

  const post = (url, body) =>
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body),
    });

  const options = async (res) => {
    if (!res.ok) throw new Error(explain(res.status));
    return (await res.json()).publicKey;
  };

  const creationOptions = (pk) => ({
    ...pk,
    challenge: toBytes(pk.challenge),
    user: { ...pk.user, id: toBytes(pk.user.id) },
    excludeCredentials: (pk.excludeCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
  });
  const requestOptions = (pk) => ({
    ...pk,
    challenge: toBytes(pk.challenge),
    allowCredentials: (pk.allowCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
  });

  // The credential as the server reads it (WebAuthn's JSON form).
  const credentialJSON = (cred) => {
    const r = cred.response;
    const response = { clientDataJSON: fromBytes(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = fromBytes(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = fromBytes(r.authenticatorData);
      response.signature = fromBytes(r.signature);
      if (r.userHandle) response.userHandle = fromBytes(r.userHandle);
    }
    return {
      id: cred.id,
      rawId: fromBytes(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response,
    };
  };

  const finish = async (url, cred) => {
    const res = await post(url, credentialJSON(cred));
    if (!res.ok) throw new Error(explain(res.status));
    location.assign(res.url); // the redirect's target, already followed
  };

  const authenticatorError = (err) => {
    if (err.name === "NotAllowedError") return "The passkey request was cancelled or timed out.";
    if (err.name === "InvalidStateError") return "This device already holds a passkey for your account.";
    return err.message || "Something went wrong. Try again in a moment.";
  };

  const show = (box, text) => {
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  };

  // The account page: name a new passkey and create it.
  const addForm = document.getElementById("passkey-add");
  if (addForm) {
    addForm.hidden = false;
    for (const note of document.querySelectorAll("[data-passkey-unsupported]")) note.hidden = true;
    const box = addForm.querySelector("[data-passkey-error]");
    addForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = addForm.querySelector("button");
      button.disabled = true;
      try {
        const name = addForm.elements.passkey_name.value;
        const pk = await options(await post("/account/passkeys/begin", { name }));
        const cred = await navigator.credentials.create({ publicKey: creationOptions(pk) });
        await finish("/account/passkeys/finish", cred);
      } catch (err) {
        show(box, authenticatorError(err));
        button.disabled = false;
      }
    });
  }

  // The sign-in pages: sign in with any passkey of this site, or, half
  // signed in, with one of the account's.
  for (const button of document.querySelectorAll("[data-passkey-login]")) {
    const container = button.closest("[hidden]") || button.parentElement;
    container.hidden = false;
    const box = container.querySelector("[data-passkey-error]");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const pk = await options(await post("/login/passkey/begin", {}));
        const cred = await navigator.credentials.get({ publicKey: requestOptions(pk) });
        const next = document.querySelector('input[name="next"]');
        const query = next && next.value ? "?next=" + encodeURIComponent(next.value) : "";
        await finish("/login/passkey/finish" + query, cred);
      } catch (err) {
        show(box, authenticatorError(err));
        button.disabled = false;
      }
    });
  }
})();
