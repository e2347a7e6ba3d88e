// What both agent scripts do once they hold a key: call a route on the credits until they run out (402),
// pacing the calls like a real agent (credits are drawn from the access log within a second or so). A 429 or
// a 503 is retried after a pause, as a well-behaved client does (a 503 is the gateway's answer when the
// authorizer could not decide in time, which a loaded machine makes happen now and then): up to 5 times.
const RETRIED = new Set([429, 503]);
const RETRIES = 5;

export async function spendCredits({ api, key, route, maxCalls }) {
  let paid = 0;
  let retried = 0;
  let last;
  for (let i = 0; i < maxCalls; i++) {
    let answer;
    for (let attempt = 0; ; attempt++) {
      answer = await fetch(`${api}${route}`, { headers: { Authorization: `Bearer ${key}` } });
      if (!RETRIED.has(answer.status) || attempt === RETRIES) break;
      retried += 1;
      await answer.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
    last = { status: answer.status, body: await answer.json().catch(() => undefined) };
    if (answer.status !== 200) break;
    paid += 1;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { calls: paid, retried, final: { status: last?.status, reason: last?.body?.reason, offers: last?.body?.offers?.map((o) => o.id) } };
}
