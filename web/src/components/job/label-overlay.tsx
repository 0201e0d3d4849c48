"use client";

import type { OutputOut } from "@/lib/api/types";

const COLOURS = ["#f59e0b", "#22c55e", "#3b82f6", "#ef4444", "#a855f7", "#14b8a6", "#ec4899"];

/**
 * An output's label boxes drawn over its image. The SVG covers the same box as the
 * `object-contain` image and keeps the image's aspect (`xMidYMid meet`), so the
 * boxes land on the pixels they label.
 */
export function LabelOverlay({ output, classes }: { output: OutputOut; classes: string[] }) {
  if (!output.labels?.length || !output.width || !output.height) return null;
  const stroke = Math.max(1.5, Math.max(output.width, output.height) / 300);
  return (
    <svg
      className="pointer-events-none absolute inset-0 size-full"
      viewBox={`0 0 ${output.width} ${output.height}`}
      preserveAspectRatio="xMidYMid meet"
      role="img"
      aria-label={`${output.labels.length} labelled object(s)`}
      data-testid="label-overlay"
    >
      {output.labels.map((box, i) => {
        const [x1 = 0, y1 = 0, x2 = 0, y2 = 0] = box.bbox;
        const colour = COLOURS[box.class_id % COLOURS.length];
        const name = classes[box.class_id] ?? String(box.class_id);
        return (
          <g key={i}>
            <rect
              x={x1}
              y={y1}
              width={x2 - x1}
              height={y2 - y1}
              fill="none"
              stroke={colour}
              strokeWidth={stroke}
            />
            <text
              x={x1 + stroke}
              y={Math.max(y1 - stroke, stroke * 6)}
              fill={colour}
              fontSize={stroke * 7}
              fontWeight={600}
              paintOrder="stroke"
              stroke="white"
              strokeWidth={stroke}
            >
              {name}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
