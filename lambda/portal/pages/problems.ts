import { PORTAL_PATHS } from '../../shared/portal-paths';
import { isPaymentReason, isProblemType, problemInfo, PROBLEM_TYPES } from '../../shared/problems';
import type { Page } from '../context';
import { html, type Html } from '../html';

/** The page a problem's `type` URI names: what it means, what to do, and what its body carries. */
export function problemPage(base: string, type: string): Page {
  if (!isProblemType(type)) {
    return { status: 404, title: 'Unknown problem type', body: html`<p>tollgate has no problem type named "${type}". The known types are listed below.</p>${problemList(base)}` };
  }
  const info = problemInfo(type);
  const isPayment = isPaymentReason(type);
  const body = html`<p class="status">HTTP ${info.status} · <code>${type}</code></p>
<h2>What it means</h2><p>${info.meaning}</p>
<h2>What to do</h2><p>${info.action}</p>
${isPayment ? html`<p>The 402 body's <code>paymentUrl</code> is the link for your account. Without it: <a class="button" href="${base}${PORTAL_PATHS.pricing}">Plans and payment</a> · <a href="${base}${PORTAL_PATHS.account}">Your account</a></p>` : ''}
<h2>The body</h2><p>Every answer of this type is <code>application/problem+json</code> (RFC 9457) with <code>type</code> naming this page, <code>title</code> "${info.title}", <code>status</code> ${info.status}${isPayment ? html`, <code>reason</code> "${type}", <code>subscriptionStatus</code> and <code>paymentUrl</code>` : ''}.</p>
<h2>Other problem types</h2>${problemList(base)}`;
  return { title: info.title, body, headers: { 'Cache-Control': 'max-age=300' } };
}

function problemList(base: string): Html {
  return html`<ul>${PROBLEM_TYPES.map((t) => html`<li><a href="${base}/tollgate/problems/${t}">${t}</a> (${problemInfo(t).status})</li>`)}</ul>`;
}
