// What both agent scripts do once they hold a key: call a route on the credits until they run out (402),
// pacing the calls like a real agent (credits are drawn from the access log within a second or so).
export async function spendCredits({ api, key, route, maxCalls }) {
  let paid = 0;
  let last;
  for (let i = 0; i < maxCalls; i++) {
    const answer = await fetch(`${api}${route}`, { headers: { Authorization: `Bearer ${key}` } });
    last = { status: answer.status, body: await answer.json().catch(() => undefined) };
    if (answer.status !== 200) break;
    paid += 1;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { calls: paid, final: { status: last?.status, reason: last?.body?.reason, offers: last?.body?.offers?.map((o) => o.id) } };
}
