/** Renders a Block Kit message roughly as Slack shows it, for a terminal. */
export function renderSlackMessage(blocks: unknown): string {
  const lines: string[] = [];
  type Block = { type?: string; text?: { text?: string }; elements?: { text?: unknown }[] };
  for (const block of (Array.isArray(blocks) ? blocks : []) as Block[]) {
    if (block.type === "header") lines.push(`━━ ${block.text?.text ?? ""} ━━`);
    else if (block.type === "section") lines.push(mrkdwn(String(block.text?.text ?? "")), "");
    else if (block.type === "context")
      lines.push(
        ...(block.elements ?? []).map((e) => `  ${mrkdwn(typeof e.text === "string" ? e.text : "")}`),
      );
    else if (block.type === "divider") lines.push("────────");
    else if (block.type === "actions") {
      // Buttons as Slack draws them, one row per item: what a team can press.
      lines.splice(
        lines.length - 1,
        0,
        (block.elements ?? [])
          .map((e) => `[${(e.text as { text?: string } | undefined)?.text ?? ""}]`)
          .join(" "),
      );
    }
  }
  return lines.map((l) => `│ ${l.replace(/\n/g, "\n│ ")}`).join("\n");
}

function mrkdwn(text: string): string {
  return text
    .replace(/<@([A-Z0-9]+)>/g, "@$1")
    .replace(/<[^|>\s]+\|([^>]+)>/g, "$1")
    .replace(/\*([^*\n]+)\*/g, "$1")
    .replace(/`([^`\n]+)`/g, "$1")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}
