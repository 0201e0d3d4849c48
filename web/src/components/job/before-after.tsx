"use client";

import { useId, useState } from "react";

/**
 * Before/after compare: the result drawn over the original, clipped at a
 * slider the user drags (or moves with the arrow keys).
 */
export function BeforeAfter({
  before,
  after,
  beforeLabel = "Original",
  afterLabel = "Result",
}: {
  before: string;
  after: string;
  beforeLabel?: string;
  afterLabel?: string;
}) {
  const [split, setSplit] = useState(50);
  const id = useId();
  const moveTo = (e: React.PointerEvent<HTMLDivElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    setSplit(Math.round(Math.min(100, Math.max(0, ((e.clientX - box.left) / box.width) * 100))));
  };
  return (
    <div className="flex size-full flex-col gap-2" data-testid="before-after">
      <div
        className="bg-checker relative min-h-0 flex-1 cursor-ew-resize touch-none overflow-hidden rounded-lg select-none"
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          moveTo(e);
        }}
        onPointerMove={(e) => {
          if (e.currentTarget.hasPointerCapture(e.pointerId)) moveTo(e);
        }}
      >
        <img
          src={before}
          alt={beforeLabel}
          className="absolute inset-0 size-full object-contain"
          draggable={false}
        />
        <div className="absolute inset-0" style={{ clipPath: `inset(0 0 0 ${split}%)` }}>
          <img
            src={after}
            alt={afterLabel}
            className="absolute inset-0 size-full object-contain"
            draggable={false}
          />
        </div>
        <div
          className="pointer-events-none absolute inset-y-0 w-0.5 bg-white shadow-[0_0_0_1px_rgba(0,0,0,0.25)]"
          style={{ left: `${split}%` }}
          aria-hidden
        />
        <span className="absolute top-2 left-2 rounded bg-black/60 px-2 py-0.5 text-xs text-white">
          {beforeLabel}
        </span>
        <span className="absolute top-2 right-2 rounded bg-black/60 px-2 py-0.5 text-xs text-white">
          {afterLabel}
        </span>
      </div>
      <label htmlFor={id} className="sr-only">
        Compare position: original on the left, result on the right
      </label>
      <input
        id={id}
        type="range"
        min={0}
        max={100}
        value={split}
        onChange={(e) => setSplit(Number(e.target.value))}
        className="w-full accent-[var(--banana-strong)]"
      />
    </div>
  );
}
