// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { filterItems, quickPick } from "../src/ui/quickpick";

const key = (el: Element, k: string) => el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe("quickPick", () => {
  afterEach(() => document.body.replaceChildren());

  it("filters locally, moves with the arrows and picks with Enter", async () => {
    const picked: string[] = [];
    const qp = quickPick<string>({ title: "t", placeholder: "p", testid: "qp", source: (q) => filterItems(["clk", "core", "u_fifo"], q, (s) => s), row: (s) => ({ label: s }), pick: (s) => picked.push(s) });
    await tick();
    const rows = () => [...qp.el.querySelectorAll(".quick-pick-item")].map((li) => li.textContent + (li.getAttribute("aria-selected") === "true" ? "*" : ""));
    expect(rows()).toEqual(["clk*", "core", "u_fifo"]);
    const input = qp.el.querySelector("input")!;
    input.value = "c";
    input.dispatchEvent(new Event("input"));
    await tick();
    expect(rows()).toEqual(["clk*", "core"]);
    key(input, "ArrowDown");
    expect(rows()).toEqual(["clk", "core*"]);
    key(input, "Enter");
    expect(picked).toEqual(["core"]);
    expect(document.querySelector('[data-testid="qp"]')).toBeNull();
  });

  it("waits for the debounced query before Enter picks", async () => {
    const picked: string[] = [];
    const queries: string[] = [];
    const qp = quickPick<string>({
      title: "t", placeholder: "p", testid: "qp", debounceMs: 30,
      source: async (q) => {
        queries.push(q);
        await tick(5);
        return q ? ["fifo"] : ["core", "fifo"];
      },
      row: (s) => ({ label: s }),
      pick: (s) => picked.push(s),
    });
    await tick(10);
    const input = qp.el.querySelector("input")!;
    input.value = "f";
    input.dispatchEvent(new Event("input"));
    input.value = "fi";
    input.dispatchEvent(new Event("input"));
    key(input, "Enter"); // before the query ran: "core" is still the first row
    expect(picked).toEqual([]);
    await tick(80);
    expect(picked).toEqual(["fifo"]);
    expect(queries).toEqual(["", "fi"]);
  });

  it("closes on Escape without picking", async () => {
    let cancelled = 0;
    const qp = quickPick<string>({ title: "t", placeholder: "p", testid: "qp", source: () => ["a"], row: (s) => ({ label: s }), pick: () => { throw new Error("picked"); }, cancelled: () => cancelled++ });
    await tick();
    key(qp.el.querySelector("input")!, "Escape");
    expect(cancelled).toBe(1);
    expect(document.querySelector(".quick-pick")).toBeNull();
  });
});
