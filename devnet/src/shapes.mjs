// Chain records → the JSON the Hiro Stacks API and the node's event observer interface send.
// Field names and value formats follow @stacks/blockchain-api-client 9.x (checked by the tests).
import { AnchorMode, ClarityType, PayloadType, PostConditionMode, addressToString, serializeCV, wireToPostCondition } from '@stacks/transactions';
import { functionSignature, hex0x, repr, typeString } from './clarity.mjs';

const iso = (s) => new Date(s * 1000).toISOString();
const strip0x = (h) => h.replace(/^0x/, '');
export const MICROBLOCK_SEQ_NONE = 2147483647;

const PC_MODE = { [PostConditionMode.Allow]: 'allow', [PostConditionMode.Deny]: 'deny', [PostConditionMode.Originator]: 'originator' };
const ANCHOR = { [AnchorMode.OnChainOnly]: 'on_chain_only', [AnchorMode.OffChainOnly]: 'off_chain_only', [AnchorMode.Any]: 'any' };
const FT_CODE = { eq: 'sent_equal_to', gt: 'sent_greater_than', gte: 'sent_greater_than_or_equal_to', lt: 'sent_less_than', lte: 'sent_less_than_or_equal_to' };
const NFT_CODE = { sent: 'sent', 'not-sent': 'not_sent', 'maybe-sent': 'maybe_sent' };

function apiPrincipal(address) {
  if (address === 'origin') return { type_id: 'principal_origin' };
  const [addr, name] = address.split('.');
  return name ? { type_id: 'principal_contract', address: addr, contract_name: name } : { type_id: 'principal_standard', address: addr };
}

function apiAsset(assetString) {
  const [contractId, assetName] = assetString.split('::');
  const [contractAddress, contractName] = contractId.split('.');
  return { asset_name: assetName, contract_address: contractAddress, contract_name: contractName };
}

export function apiPostCondition(wire) {
  const pc = wireToPostCondition(wire);
  switch (pc.type) {
    case 'stx-postcondition':
      return { principal: apiPrincipal(pc.address), condition_code: FT_CODE[pc.condition], amount: String(pc.amount), type: 'stx' };
    case 'ft-postcondition':
      return { principal: apiPrincipal(pc.address), condition_code: FT_CODE[pc.condition], amount: String(pc.amount), type: 'fungible', asset: apiAsset(pc.asset) };
    case 'nft-postcondition':
      return { principal: apiPrincipal(pc.address), condition_code: NFT_CODE[pc.condition], type: 'non_fungible', asset_value: { hex: hex0x(pc.assetId), repr: repr(pc.assetId) }, asset: apiAsset(pc.asset) };
    default:
      return { principal: apiPrincipal(pc.address), condition_code: FT_CODE[pc.condition] ?? 'sent_equal_to', amount: String(pc.amount ?? 0), type: 'stx' };
  }
}

function payloadFields(record, chain) {
  const p = record.wire.payload;
  switch (p.payloadType) {
    case PayloadType.TokenTransfer:
      return {
        tx_type: 'token_transfer',
        token_transfer: {
          recipient_address: p.recipient.value,
          amount: p.amount.toString(),
          memo: '0x' + Buffer.from(p.memo.content, 'latin1').toString('hex').padEnd(68, '0'),
        },
      };
    case PayloadType.ContractCall: {
      const contractId = `${addressToString(p.contractAddress)}.${p.contractName.content}`;
      const fn = chain.contractInterfaces().get(contractId)?.functions.find((f) => f.name === p.functionName.content);
      return {
        tx_type: 'contract_call',
        contract_call: {
          contract_id: contractId,
          function_name: p.functionName.content,
          function_signature: fn ? functionSignature(fn) : '',
          function_args: p.functionArgs.map((cv, i) => ({
            hex: hex0x(cv),
            repr: repr(cv),
            name: fn?.args[i]?.name ?? '',
            type: fn?.args[i] ? typeString(fn.args[i].type) : '',
          })),
        },
      };
    }
    case PayloadType.SmartContract:
    case PayloadType.VersionedSmartContract:
      return {
        tx_type: 'smart_contract',
        smart_contract: {
          clarity_version: p.payloadType === PayloadType.VersionedSmartContract ? p.clarityVersion : null,
          contract_id: `${record.sender}.${p.contractName.content}`,
          source_code: p.codeBody.content,
        },
      };
    default:
      return { tx_type: 'coinbase', coinbase_payload: { data: '0x', alt_recipient: null, vrf_proof: null } };
  }
}

function resultValue(record) {
  const cv = record.result ?? { type: ClarityType.OptionalNone };
  return { hex: hex0x(cv), repr: repr(cv) };
}

/** A simnet event → the Hiro API event object (or null for kinds the API does not list). */
export function apiEvent(e, txid, index) {
  const d = e.data;
  const base = { event_index: index };
  switch (e.event) {
    case 'print_event':
      return { ...base, event_type: 'smart_contract_log', tx_id: txid, contract_log: { contract_id: d.contract_identifier, topic: d.topic, value: { hex: d.raw_value, repr: repr(d.value) } } };
    case 'ft_transfer_event':
    case 'ft_mint_event':
    case 'ft_burn_event':
      return {
        ...base,
        event_type: 'fungible_token_asset',
        tx_id: txid,
        asset: { asset_event_type: e.event.split('_')[1], asset_id: d.asset_identifier, sender: d.sender ?? '', recipient: d.recipient ?? '', amount: String(d.amount) },
      };
    case 'stx_transfer_event':
    case 'stx_mint_event':
    case 'stx_burn_event': {
      const asset = { asset_event_type: e.event.split('_')[1], sender: d.sender ?? '', recipient: d.recipient ?? '', amount: String(d.amount) };
      if (d.memo) asset.memo = '0x' + strip0x(d.memo);
      return { ...base, event_type: 'stx_asset', tx_id: txid, asset };
    }
    case 'nft_transfer_event':
    case 'nft_mint_event':
    case 'nft_burn_event':
      return {
        ...base,
        event_type: 'non_fungible_token_asset',
        tx_id: txid,
        asset: { asset_event_type: e.event.split('_')[1], asset_id: d.asset_identifier, sender: d.sender ?? '', recipient: d.recipient ?? '', value: { hex: '0x' + strip0x(d.raw_value ?? ''), repr: d.value ? repr(d.value) : '' } },
      };
    default:
      return null;
  }
}

export function apiEvents(record) {
  const txid = '0x' + record.txid;
  return record.events.map((e, i) => apiEvent(e, txid, i)).filter(Boolean);
}

export function apiTx(record, chain) {
  const base = {
    tx_id: '0x' + record.txid,
    nonce: record.nonce,
    fee_rate: record.fee.toString(),
    sender_address: record.sender,
    sponsored: false,
    post_condition_mode: PC_MODE[record.wire.postConditionMode] ?? 'deny',
    post_conditions: record.wire.postConditions.values.map(apiPostCondition),
    anchor_mode: ANCHOR[record.wire.anchorMode] ?? 'any',
  };
  if (!record.block) {
    const pending = {
      ...base,
      tx_status: record.status,
      replaced_by_tx_id: record.replaced_by_tx_id ? '0x' + record.replaced_by_tx_id : null,
      receipt_time: record.receipt_time,
      receipt_time_iso: iso(record.receipt_time),
      ...payloadFields(record, chain),
    };
    return pending;
  }
  const b = record.block;
  const parent = chain.blockByHash.get(b.parent_block_hash);
  const events = apiEvents(record);
  return {
    ...base,
    block_hash: b.hash,
    block_height: b.height,
    block_time: b.block_time,
    block_time_iso: iso(b.block_time),
    burn_block_time: b.burn_block_time,
    burn_block_height: b.burn_block_height,
    burn_block_time_iso: iso(b.burn_block_time),
    parent_burn_block_time: parent?.burn_block_time ?? b.burn_block_time,
    parent_burn_block_time_iso: iso(parent?.burn_block_time ?? b.burn_block_time),
    canonical: b.canonical,
    tx_index: record.tx_index,
    tx_status: record.status,
    tx_result: resultValue(record),
    event_count: events.length,
    parent_block_hash: b.parent_block_hash,
    is_unanchored: false,
    microblock_hash: '0x',
    microblock_sequence: MICROBLOCK_SEQ_NONE,
    microblock_canonical: true,
    execution_cost_read_count: 0,
    execution_cost_read_length: 0,
    execution_cost_runtime: 0,
    execution_cost_write_count: 0,
    execution_cost_write_length: 0,
    vm_error: record.vm_error,
    events,
    ...payloadFields(record, chain),
  };
}

/** `/extended/v2/blocks/…` (NakamotoBlock). */
export function apiBlock(block) {
  return {
    canonical: block.canonical,
    height: block.height,
    hash: block.hash,
    block_time: block.block_time,
    block_time_iso: iso(block.block_time),
    tenure_height: block.tenure_height,
    index_block_hash: block.index_block_hash,
    parent_block_hash: block.parent_block_hash,
    parent_index_block_hash: block.parent_index_block_hash,
    burn_block_time: block.burn_block_time,
    burn_block_time_iso: iso(block.burn_block_time),
    burn_block_hash: block.burn_block_hash,
    burn_block_height: block.burn_block_height,
    miner_txid: block.miner_txid,
    tx_count: block.txids.length,
    execution_cost_read_count: 0,
    execution_cost_read_length: 0,
    execution_cost_runtime: 0,
    execution_cost_write_count: 0,
    execution_cost_write_length: 0,
  };
}

// ------------------------------------------------------------------ node event observer

function observerEvent(e, txid, index) {
  const d = e.data;
  const base = { txid: '0x' + txid, event_index: index, committed: true };
  switch (e.event) {
    case 'print_event':
      return { ...base, type: 'contract_event', contract_event: { contract_identifier: d.contract_identifier, topic: d.topic, raw_value: d.raw_value } };
    case 'ft_transfer_event':
      return { ...base, type: 'ft_transfer_event', ft_transfer_event: { asset_identifier: d.asset_identifier, sender: d.sender, recipient: d.recipient, amount: String(d.amount) } };
    case 'ft_mint_event':
      return { ...base, type: 'ft_mint_event', ft_mint_event: { asset_identifier: d.asset_identifier, recipient: d.recipient, amount: String(d.amount) } };
    case 'ft_burn_event':
      return { ...base, type: 'ft_burn_event', ft_burn_event: { asset_identifier: d.asset_identifier, sender: d.sender, amount: String(d.amount) } };
    case 'stx_transfer_event':
      return { ...base, type: 'stx_transfer_event', stx_transfer_event: { sender: d.sender, recipient: d.recipient, amount: String(d.amount), memo: strip0x(d.memo ?? '') } };
    case 'nft_transfer_event':
      return { ...base, type: 'nft_transfer_event', nft_transfer_event: { asset_identifier: d.asset_identifier, sender: d.sender, recipient: d.recipient, raw_value: d.raw_value } };
    default:
      return { ...base, type: e.event, [e.event]: d };
  }
}

/** Body of the node's `POST /new_block`. */
export function newBlockPayload(block, txs, parent = null) {
  const events = [];
  for (const r of txs) r.events.forEach((e, i) => events.push(observerEvent(e, r.txid, i)));
  return {
    block_hash: block.hash,
    block_height: block.height,
    block_time: block.block_time,
    burn_block_time: block.burn_block_time,
    burn_block_hash: block.burn_block_hash,
    burn_block_height: block.burn_block_height,
    index_block_hash: block.index_block_hash,
    parent_block_hash: block.parent_block_hash,
    parent_index_block_hash: block.parent_index_block_hash,
    parent_burn_block_hash: parent?.burn_block_hash ?? block.burn_block_hash,
    parent_burn_block_height: parent?.burn_block_height ?? block.burn_block_height,
    parent_burn_block_timestamp: parent?.burn_block_time ?? block.burn_block_time,
    parent_microblock: '0x' + '00'.repeat(32),
    parent_microblock_sequence: 0,
    miner_txid: block.miner_txid,
    consensus_hash: block.burn_block_hash.slice(0, 42),
    tenure_height: block.tenure_height,
    transactions: txs.map((r) => ({
      txid: '0x' + r.txid,
      tx_index: r.tx_index,
      status: r.status,
      raw_result: hex0x(r.result ?? { type: ClarityType.OptionalNone }),
      raw_tx: '0x' + r.raw,
      vm_error: r.vm_error,
      execution_cost: { read_count: 0, read_length: 0, runtime: 0, write_count: 0, write_length: 0 },
      microblock_sequence: null,
      microblock_hash: null,
      microblock_parent_hash: null,
    })),
    events,
    matured_miner_rewards: [],
  };
}

// ------------------------------------------------------------------ Chainhook (2.x)

function chainhookEvent(e, index) {
  const d = e.data;
  const position = { index };
  switch (e.event) {
    case 'print_event':
      return { type: 'SmartContractEvent', position, data: { contract_identifier: d.contract_identifier, topic: d.topic, raw_value: d.raw_value } };
    case 'ft_transfer_event':
      return { type: 'FTTransferEvent', position, data: { asset_identifier: d.asset_identifier, sender: d.sender, recipient: d.recipient, amount: String(d.amount) } };
    case 'ft_mint_event':
      return { type: 'FTMintEvent', position, data: { asset_identifier: d.asset_identifier, recipient: d.recipient, amount: String(d.amount) } };
    case 'ft_burn_event':
      return { type: 'FTBurnEvent', position, data: { asset_identifier: d.asset_identifier, sender: d.sender, amount: String(d.amount) } };
    case 'stx_transfer_event':
      return { type: 'STXTransferEvent', position, data: { sender: d.sender, recipient: d.recipient, amount: String(d.amount) } };
    case 'nft_transfer_event':
      return { type: 'NFTTransferEvent', position, data: { asset_identifier: d.asset_identifier, sender: d.sender, recipient: d.recipient, raw_value: d.raw_value } };
    default:
      return { type: e.event, position, data: d };
  }
}

function chainhookKind(record) {
  const p = record.wire.payload;
  switch (p.payloadType) {
    case PayloadType.ContractCall:
      return {
        type: 'ContractCall',
        data: { contract_identifier: `${addressToString(p.contractAddress)}.${p.contractName.content}`, method: p.functionName.content, args: p.functionArgs.map(repr) },
      };
    case PayloadType.TokenTransfer:
      return { type: 'NativeTokenTransfer' };
    default:
      return { type: 'ContractDeployment', data: { contract_identifier: `${record.sender}.${p.contractName?.content ?? ''}` } };
  }
}

export function chainhookBlock(block, txs) {
  return {
    block_identifier: { index: block.height, hash: block.hash },
    parent_block_identifier: { index: Math.max(0, block.height - 1), hash: block.parent_block_hash },
    timestamp: block.block_time,
    transactions: txs.map((r) => ({
      transaction_identifier: { hash: '0x' + r.txid },
      operations: [],
      metadata: {
        success: r.status === 'success',
        raw_tx: '0x' + r.raw,
        result: repr(r.result ?? { type: ClarityType.OptionalNone }),
        sender: r.sender,
        nonce: r.nonce,
        fee: Number(r.fee),
        kind: chainhookKind(r),
        receipt: { mutated_contracts_radius: [], mutated_assets_radius: [], contract_calls_stack: [], events: r.events.map(chainhookEvent) },
        description: '',
        position: { index: r.tx_index },
        proof: null,
        execution_cost: { read_count: 0, read_length: 0, runtime: 0, write_count: 0, write_length: 0 },
        vm_error: r.vm_error,
        tx_status: r.status,
      },
    })),
    metadata: {
      bitcoin_anchor_block_identifier: { index: block.burn_block_height, hash: block.burn_block_hash },
      pox_cycle_index: 0,
      pox_cycle_position: 0,
      pox_cycle_length: 0,
      confirm_microblock_identifier: null,
      stacks_block_hash: block.hash,
      index_block_hash: block.index_block_hash,
      tenure_height: block.tenure_height,
      block_time: block.block_time,
      signer_bitvec: null,
      signer_signature: [],
      signer_public_keys: [],
      cycle_number: null,
      reward_set: null,
    },
  };
}

export { serializeCV };
