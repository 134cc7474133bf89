import { describe, expect, it } from 'vitest';
import { PartialFrameBudget } from '@ipcez/core/stream';

describe('PartialFrameBudget', () => {
  it('grants reservations up to the limit, refuses growth past it without changing anything, and always lets a holder shrink', () => {
    const budget = new PartialFrameBudget(100);
    expect(budget.resize(0, 60)).toBe(true);
    expect(budget.resize(0, 40)).toBe(true);
    expect(budget.heldBytes).toBe(100);
    expect(budget.resize(40, 41)).toBe(false);
    expect(budget.heldBytes).toBe(100);
    expect(budget.resize(60, 0)).toBe(true); // a frame completed or its link ended
    expect(budget.resize(40, 100)).toBe(true);
    expect(budget.heldBytes).toBe(100);
    expect(budget.resize(100, 0)).toBe(true);
    expect(budget.heldBytes).toBe(0);
  });

  it('has no cap with Infinity, and rejects a limit that is not a positive integer', () => {
    const budget = new PartialFrameBudget(Number.POSITIVE_INFINITY);
    expect(budget.resize(0, Number.MAX_SAFE_INTEGER)).toBe(true);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new PartialFrameBudget(bad), String(bad)).toThrow(
        expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
      );
    }
  });
});
