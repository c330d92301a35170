/** Renders a Block Kit message roughly as Slack shows it, for a terminal. */
export function renderSlackMessage(blocks: unknown): string {
  const lines: string[] = [];
  type Block = { type?: string; text?: { text?: string }; elements?: { text?: string }[] };
  for (const block of (Array.isArray(blocks) ? blocks : []) as Block[]) {
    if (block.type === "header") lines.push(`━━ ${block.text?.text ?? ""} ━━`);
    else if (block.type === "section") lines.push(mrkdwn(String(block.text?.text ?? "")), "");
    else if (block.type === "context")
      lines.push(...(block.elements ?? []).map((e) => `  ${mrkdwn(e.text ?? "")}`));
    else if (block.type === "divider") lines.push("────────");
  }
  return lines.map((l) => `│ ${l.replace(/\n/g, "\n│ ")}`).join("\n");
}

function mrkdwn(text: string): string {
  return text
    .replace(/<@([A-Z0-9]+)>/g, "@$1")
    .replace(/\*([^*\n]+)\*/g, "$1")
    .replace(/`([^`\n]+)`/g, "$1")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}
