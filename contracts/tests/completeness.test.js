// Keeps the contract, its header documentation and the tests in step: every error code,
// every public function and every printed event must be documented in the header and
// exercised by some test.
import { describe, it, expect } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { Cl } from "@stacks/transactions";
import {
  CONTRACT,
  ERR,
  GATEWAY_PUB,
  accounts,
  mintSbtc,
  terms,
  signTerms,
  payArgs,
  tokenCV,
} from "./helpers.js";

const src = fs.readFileSync(path.join("contracts", `${CONTRACT}.clar`), "utf8");
const header = src.split("\n").filter((l) => l.startsWith(";;")).join("\n");
const testsDir = "tests";
const tests = fs
  .readdirSync(testsDir)
  .filter((f) => f.endsWith(".test.js") && f !== "completeness.test.js")
  .map((f) => fs.readFileSync(path.join(testsDir, f), "utf8"))
  .join("\n");

describe("contract / header / tests completeness", () => {
  it("every error constant is distinct, documented in the header and asserted by a test", () => {
    const errs = [...src.matchAll(/\(define-constant (ERR-[A-Z-]+) \(err u(\d+)\)\)/g)].map(
      (m) => ({ name: m[1], code: Number(m[2]) }),
    );
    expect(errs.length).toBeGreaterThan(20);
    expect(new Set(errs.map((e) => e.code)).size).toBe(errs.length);
    for (const { name, code } of errs) {
      expect(header, name).toContain(`u${code} ${name}`);
      const key = name.replace(/^ERR-/, "").replaceAll("-", "_");
      expect(ERR[key], `helpers ERR.${key}`).toBe(code);
      expect(tests, `a test asserting ERR.${key}`).toMatch(new RegExp(`ERR\\.${key}\\b`));
    }
  });

  it("every public function is listed in the header and called by a test", () => {
    const iface = simnet.getContractsInterfaces().get(`${simnet.deployer}.${CONTRACT}`);
    const publics = iface.functions.filter((f) => f.access === "public").map((f) => f.name);
    expect(publics.length).toBeGreaterThan(20);
    for (const fn of publics) {
      expect(header, fn).toContain(`(${fn}`);
      // called directly by name, or through a helper that names it
      const helpers = fs.readFileSync(path.join(testsDir, "helpers.js"), "utf8");
      expect(tests + helpers, fn).toContain(`"${fn}"`);
    }
  });

  it("every printed event is listed in the header and checked by a test", () => {
    const events = [...new Set([...src.matchAll(/event: "([a-z-]+)"/g)].map((m) => m[1]))];
    expect(events.length).toBeGreaterThan(15);
    for (const ev of events) {
      expect(header, ev).toMatch(new RegExp(`;;\\s+${ev}\\s+\\{`));
      expect(tests, ev).toContain(`event: "${ev}"`);
    }
  });

  it("the header says signatures are malleable and that nothing may deduplicate by their bytes", () => {
    expect(header).toMatch(/Signatures are MALLEABLE/);
    expect(header).toMatch(/never deduplicate or look payments up by\n;; signature bytes/);
  });

  it("the header names the Clarity version and epoch that Clarinet.toml pins", () => {
    const toml = fs.readFileSync("Clarinet.toml", "utf8");
    expect(toml).toMatch(/clarity_version = 4/);
    expect(toml).toMatch(/epoch = 3\.3/);
    expect(header).toContain("TARGET: Clarity 4, epoch 3.3");
    const iface = simnet.getContractsInterfaces().get(`${simnet.deployer}.${CONTRACT}`);
    expect(iface.epoch).toBe("Epoch33");
    expect(iface.clarity_version).toBe("Clarity4");
  });

  it("the same source also deploys and works as Clarity 5 in epoch 3.4 (the SDK's latest)", () => {
    simnet.setEpoch("3.4");
    const code = simnet.getContractSource(CONTRACT);
    const r = simnet.deployContract("gateway-clarity5", code, { clarityVersion: 5 }, simnet.deployer);
    expect(r.result.type).toBe("true");
    const iface = simnet.getContractsInterfaces().get(`${simnet.deployer}.gateway-clarity5`);
    expect(iface.clarity_version).toBe("Clarity5");
    const c5 = (fn, args, sender) => simnet.callPublicFn("gateway-clarity5", fn, args, sender);
    const A = accounts();
    expect(c5("set-gateway-key", [Cl.buffer(GATEWAY_PUB)], A.deployer).result).toBeOk(Cl.bool(true));
    // the payer is the fee recipient: the fee is held, and paid out under `as-contract?`
    mintSbtc(A.deployer, 1_000_000n);
    const t = terms({ contract: `${simnet.deployer}.gateway-clarity5` });
    expect(c5("pay-signed-intent", payArgs(t, signTerms(t)), A.deployer).result).toBeOk(
      Cl.bool(true),
    );
    expect(
      c5("distribute-fees", [tokenCV(), Cl.stringAscii(t.intentId)], A.stranger).result,
    ).toBeOk(Cl.uint(t.fee));
  });
});
