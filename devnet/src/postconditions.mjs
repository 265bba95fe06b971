// Post-conditions, evaluated as stacks-core does after a successful execution: each condition
// bounds what one principal sent of one asset (transfers and burns); in deny mode every asset a
// principal sent must be covered by a condition (originator mode: only the origin's).
import { PostConditionMode, serializeCV, wireToPostCondition } from '@stacks/transactions';

const COMPARE = {
  eq: (sent, n) => sent === n,
  gt: (sent, n) => sent > n,
  gte: (sent, n) => sent >= n,
  lt: (sent, n) => sent < n,
  lte: (sent, n) => sent <= n,
};

/** Outgoing movements from simnet events: [{kind:'stx'|'ft'|'nft', sender, asset, amount, id}]. */
export function outgoingMovements(events) {
  const out = [];
  for (const e of events) {
    const d = e.data;
    switch (e.event) {
      case 'stx_transfer_event':
      case 'stx_burn_event':
        out.push({ kind: 'stx', sender: d.sender, asset: 'STX', amount: BigInt(d.amount) });
        break;
      case 'ft_transfer_event':
      case 'ft_burn_event':
        out.push({ kind: 'ft', sender: d.sender, asset: d.asset_identifier, amount: BigInt(d.amount) });
        break;
      case 'nft_transfer_event':
      case 'nft_burn_event':
        out.push({ kind: 'nft', sender: d.sender, asset: d.asset_identifier, id: (d.raw_value ?? '').replace(/^0x/, '') });
        break;
      default:
        break;
    }
  }
  return out;
}

/** null when the transaction's post-conditions hold, else the failure message (vm_error). */
export function checkPostConditions(wire, origin, events) {
  const moves = outgoingMovements(events);
  const conditions = wire.postConditions.values.map(wireToPostCondition);
  const covered = new Set();
  for (const pc of conditions) {
    const who = pc.address === 'origin' ? origin : pc.address;
    if (pc.type === 'stx-postcondition' || pc.type === 'ft-postcondition') {
      const asset = pc.type === 'stx-postcondition' ? 'STX' : pc.asset;
      const sent = moves.filter((m) => m.sender === who && m.asset === asset).reduce((s, m) => s + m.amount, 0n);
      covered.add(`${who}|${asset}`);
      if (!COMPARE[pc.condition](sent, BigInt(pc.amount))) {
        return `Post-condition check failure on ${asset === 'STX' ? 'STX' : `fungible asset ${asset}`} owned by ${who}: ${sent} sent, condition ${pc.condition} ${pc.amount}`;
      }
    } else if (pc.type === 'nft-postcondition') {
      const id = serializeCV(pc.assetId);
      const sent = moves.some((m) => m.kind === 'nft' && m.sender === who && m.asset === pc.asset && m.id === id);
      covered.add(`${who}|${pc.asset}|${id}`);
      if (pc.condition === 'sent' && !sent) return `Post-condition check failure on non-fungible asset ${pc.asset} owned by ${who}: not sent`;
      if (pc.condition === 'not-sent' && sent) return `Post-condition check failure on non-fungible asset ${pc.asset} owned by ${who}: sent`;
    }
  }
  if (wire.postConditionMode === PostConditionMode.Allow) return null;
  for (const m of moves) {
    if (wire.postConditionMode === PostConditionMode.Originator && m.sender !== origin) continue;
    const key = m.kind === 'nft' ? `${m.sender}|${m.asset}|${m.id}` : `${m.sender}|${m.asset}`;
    if (!covered.has(key)) {
      return `Post-condition check failure: ${m.sender} sent ${m.kind === 'nft' ? 'an NFT of' : m.amount + ' of'} ${m.asset} not covered by a post-condition in deny mode`;
    }
  }
  return null;
}
