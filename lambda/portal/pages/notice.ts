/**
 * The notice a form's redirect names in the account page's query (`?budget=set`, `?topup=card`): one of
 * the section's own, else none, so a crafted URL can only show a sentence the page already has.
 */
export function noticeFrom<N extends string>(query: Readonly<Record<string, string | undefined>> | null, parameter: string, notices: Readonly<Record<N, string>>): { readonly notice?: N } {
  const notice = query?.[parameter];
  return notice !== undefined && Object.hasOwn(notices, notice) ? { notice: notice as N } : {};
}
