// The headline chart, written by hand as SVG from the measured numbers (no charting
// dependency): one panel per figure, one horizontal bar per library at its median, a whisker
// from the minimum to the maximum of the repetitions.

/** One bar: a median and the range of the repetitions. */
export interface Bar {
  readonly label: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** ipcez's own bars are drawn in the accent colour. */
  readonly isOurs: boolean;
}

export interface Panel {
  readonly title: string;
  readonly subtitle: string;
  readonly unit: string;
  readonly bars: readonly Bar[];
  /** Formats a value for its label. */
  readonly format: (value: number) => string;
}

const WIDTH = 480;
const LABEL_WIDTH = 165;
const VALUE_WIDTH = 70;
const ROW = 30;
const TOP = 58;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function panel(p: Panel, x: number): string {
  const plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20;
  const top = Math.max(...p.bars.map((b) => b.max), 0) || 1;
  const scale = (v: number): number => (v / top) * plot;
  const out: string[] = [
    `<g transform="translate(${x},0)">`,
    `<text x="10" y="22" class="title">${escape(p.title)}</text>`,
    `<text x="10" y="40" class="sub">${escape(p.subtitle)}</text>`,
  ];
  p.bars.forEach((bar, i) => {
    const y = TOP + i * ROW;
    const barX = LABEL_WIDTH;
    out.push(
      `<text x="${barX - 8}" y="${y + 15}" class="label" text-anchor="end">${escape(bar.label)}</text>`,
      `<rect x="${barX}" y="${y + 4}" width="${scale(bar.median).toFixed(1)}" height="16" rx="2" class="${bar.isOurs ? 'ours' : 'other'}"/>`,
      `<line x1="${(barX + scale(bar.min)).toFixed(1)}" x2="${(barX + scale(bar.max)).toFixed(1)}" y1="${y + 12}" y2="${y + 12}" class="range"/>`,
      `<line x1="${(barX + scale(bar.min)).toFixed(1)}" x2="${(barX + scale(bar.min)).toFixed(1)}" y1="${y + 8}" y2="${y + 16}" class="range"/>`,
      `<line x1="${(barX + scale(bar.max)).toFixed(1)}" x2="${(barX + scale(bar.max)).toFixed(1)}" y1="${y + 8}" y2="${y + 16}" class="range"/>`,
      `<text x="${(barX + scale(Math.max(bar.max, bar.median)) + 6).toFixed(1)}" y="${y + 16}" class="value">${escape(p.format(bar.median))}</text>`,
    );
  });
  out.push('</g>');
  return out.join('\n');
}

/** The SVG document: panels side by side, and a footer line (machine, command). */
export function chartSvg(panels: readonly Panel[], footer: readonly string[]): string {
  const rows = Math.max(...panels.map((p) => p.bars.length));
  const height = TOP + rows * ROW + 16 + footer.length * 16;
  const width = panels.length * WIDTH;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    '<style>',
    '.title{font-size:15px;font-weight:600;fill:#1f2328}',
    '.sub,.foot{font-size:11.5px;fill:#59636e}',
    '.label{font-size:12.5px;fill:#1f2328}',
    '.value{font-size:12px;fill:#1f2328}',
    '.ours{fill:#2f6fdf}',
    '.other{fill:#9aa4b0}',
    '.range{stroke:#1f2328;stroke-width:1.2}',
    '</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...panels.map((p, i) => panel(p, i * WIDTH)),
    ...footer.map(
      (line, i) => `<text x="10" y="${TOP + rows * ROW + 14 + i * 16}" class="foot">${escape(line)}</text>`,
    ),
    '</svg>',
    '',
  ].join('\n');
}
