;; title: sbtc-payment-gateway
;; summary: Non-custodial sBTC payment gateway: gateway-signed payment intents paid in one
;;          customer transaction, merchant-registered intents, partial refunds, fees, admin.
;;
;; ============================================================================================
;; TARGET: Clarity 4, epoch 3.3
;; ============================================================================================
;; - Clarity 4 is the first version with `as-contract?`, whose explicit asset allowances
;;   (`with-ft`) bound what the contract may move out of its own balance: the contract spends
;;   its own tokens only in `distribute-fees` / `distribute-onchain-fees` (exactly the held fee)
;;   and `recover-stray` (exactly the amount, never more than the balance above what is owed).
;;   Clarity 4 also gives `current-contract`, used in the signed terms.
;; - Clarity 4 arrived with epoch 3.3, which mainnet and testnet have run since late 2025, so
;;   the contract deploys on both networks as they run today. Nothing here needs Clarity 5 / epoch 3.4,
;;   which is what `epoch = "latest"` selects in the pinned @stacks/clarinet-sdk 3.21.0 (whose
;;   default without an `epoch` key is still epoch 2.05 / Clarity 1); Clarinet.toml pins
;;   `clarity_version = 4`, `epoch = 3.3` explicitly so the simnet runs what mainnet runs.
;; - Heights: Clarity 3+ `stacks-block-height` (Nakamoto: a Stacks block every few seconds).
;;
;; ============================================================================================
;; SIGNED INTENTS (the path the hosted checkout uses)
;; ============================================================================================
;; The gateway signs the terms of an intent off chain; the customer pays them in ONE contract
;; call, `pay-signed-intent`, which checks the signature, records the intent as paid and moves
;; the sBTC. No on-chain step is needed before: neither by the gateway nor by the merchant,
;; who does not have to be registered (the gateway's signature names it).
;;
;; Terms tuple (exact keys and types; Clarity serializes tuple keys sorted by their raw bytes,
;; which for these keys is the order written here):
;;
;;   { amount: uint,                  ;; total the customer pays, in sats (> 0)
;;     chain-id: uint,                ;; `chain-id`: u1 mainnet, u2147483648 testnet/devnet/simnet
;;     contract: principal,           ;; `current-contract`: this deployment's contract principal
;;     expires-at: uint,              ;; Stacks block height; payable while stacks-block-height < expires-at
;;     fee: uint,                     ;; gateway fee in sats, part of `amount` (fee <= amount * fee-cap-bps / 10000)
;;     intent-id: (string-ascii 36),  ;; e.g. "pi_..." (1..36 chars)
;;     merchant: principal,           ;; receives amount - fee
;;     token: principal }             ;; the SIP-010 contract the intent is paid (and refunded) in
;;
;; Signing recipe:
;;   msg  = sha256( to-consensus-buff?( terms ) )            ;; 32 bytes
;;   sig  = secp256k1 ECDSA over msg (no further hashing; RFC 6979), low-S,
;;          laid out R (32) || S (32) || V (1, recovery id 0..3) = 65 bytes -- the order
;;          `secp256k1-verify` takes (the REVERSE of a transaction signature's V||R||S).
;;   key  = the gateway's compressed public key (33 bytes), set with `set-gateway-key`
;;          (or, during a planned rotation's overlap, the key it replaced).
;; `get-terms-hash` (read-only) returns `msg` for given terms so off-chain code can check its
;; own serialization against the VM.
;;
;; Replay protection: the intent id is recorded on payment and can never be paid again; the
;; chain id and the contract principal in the terms stop a signature being used on another
;; network or another deployment; merchant, amount, fee, expiry and token are all signed.
;;
;; Signatures are MALLEABLE on the VM: `secp256k1-verify` also accepts the high-S twin of a
;; signature, any recovery byte 0..3, and the 64-byte R||S without it. That is harmless here
;; because what is paid once is the intent ID, never a signature: a twin of a used signature
;; pays nothing (u109/u111). Off-chain code must never deduplicate or look payments up by
;; signature bytes -- only by intent id (the gateway does not store signatures at all).
;;
;; ============================================================================================
;; TWO NAMESPACES OF INTENTS
;; ============================================================================================
;; - `signed-intents`, keyed by the intent id: written only by `pay-signed-intent` (the gateway's
;;   signature) and `revoke-signed-intent` (the owner). Nobody else can take an id there.
;; - `payment-intents`, keyed by { merchant, payment-id }: a merchant's own on-chain intents
;;   (`create-payment-intent`), paid with `process-payment`, which names the merchant and the
;;   amount the customer expects. A stranger's intent of the same id is another entry.
;;
;; ============================================================================================
;; MONEY FLOW
;; ============================================================================================
;; Paying (either path) moves, in the customer's own transaction, from tx-sender:
;;   amount - fee  customer -> merchant        (token `transfer`, memo none)
;;   fee           customer -> fee recipient   (the recipient in force at the payment's block)
;; except when the customer IS the fee recipient (a transfer to oneself is refused by the
;; token): then the fee goes to this contract and is HELD for that recipient, recorded with the
;; intent; `distribute-fees` / `distribute-onchain-fees` (anyone may call them) pay it out to
;; the recorded recipient, never to another. So the customer always sends exactly `amount`,
;; and merchant + fee recipient always receive exactly `amount` per paid intent.
;; The contract's own balance of a token is the fees it holds in it (`get-fees-held`) plus
;; whatever was sent to it by mistake, which only the owner can recover (`recover-stray`),
;; and never more than the balance above what is held.
;; Refunds are paid by the merchant from its own balance to the intent's payer, in the
;; intent's own token, in total at most `amount` per intent (the fee is not returned, as with
;; Stripe). Suspended merchants can still refund.
;; Fees: on-chain intents use `fee = amount * fee-bps / 10000` at the rate in force at their
;; creation, rounded DOWN (favours the merchant); signed intents carry the fee computed off
;; chain. Both are checked against the cap in force at payment: `fee * 10000 <= amount *
;; fee-cap-bps`. `fee-bps <= fee-cap-bps <= MAX-FEE-BPS (u1000 = 10%)`.
;; Every payment adds to the payee's `get-merchant-totals` (processed = gross, received = net,
;; payments = count), registered or not: the gateway reconciles its ledger against them.
;;
;; ============================================================================================
;; OWNER POWERS AND THEIR DELAY
;; ============================================================================================
;; Changes of the token (`set-sbtc-token`), the fee recipient (`set-fee-recipient`), the fee
;; rate (`set-fee-bps`) and the fee cap (`set-fee-cap`) are ANNOUNCED: each prints its event
;; with `effective-at` = the announcing block + CHANGE-DELAY (u4320 blocks), and is in force
;; from that height on. Until then the old value stays in force; announcing again before it
;; replaces the pending change (announcing the value in force takes it back).
;; - token: the token is part of the signed terms and recorded with every intent, so an
;;   intent is paid, refunded and its held fee paid out in its own token only. From
;;   `effective-at` new intents name the new token; the replaced token stays accepted for
;;   payments for CHANGE-DELAY more blocks, so intents signed before the change (lifetime up to
;;   twice the delay from the announcement) are still paid in it. No new token change can be
;;   announced during that grace (u130).
;; - fee recipient: a fee is paid (or, held, assigned) to the recipient in force at the
;;   payment's block; a later change never moves a fee already collected.
;; - fee rate: applies to on-chain intents created from `effective-at` (the fee of an intent is
;;   fixed when it is created, or signed).
;; - fee cap: checked at payment. A raised cap waits for the delay; a lowered one, once in
;;   force, refuses a signed fee above it (the gateway sees the announcement CHANGE-DELAY
;;   blocks ahead and signs within it from then).
;; Immediate, because they are emergency levers: `pause`/`unpause`, `suspend-merchant` /
;; `reinstate-merchant` (the deny list), `revoke-signed-intent`, and `set-gateway-key` (a
;; compromised key stops at once, and any overlap with it). A planned key rotation,
;; `rotate-gateway-key`, keeps the replaced key valid for an overlap of at most
;; MAX-KEY-OVERLAP (u4320) blocks, so intents signed just before still pay.
;;
;; ============================================================================================
;; PUBLIC FUNCTIONS
;; ============================================================================================
;; Merchants (called directly: see Authorization)
;;   (register-merchant (merchant-data { name: (string-ascii 100), email: (string-ascii 100) }))
;;   (update-merchant (merchant-data { name: (string-ascii 100), email: (string-ascii 100) }))
;;   (create-payment-intent (payment-id (string-ascii 36)) (amount uint)
;;                          (description (optional (string-utf8 200))) (expires-at uint))
;;   (cancel-payment-intent (merchant principal) (payment-id (string-ascii 36)))   ;; or the owner
;;   (refund-payment (token <sip-010-trait>) (payment-id (string-ascii 36)) (amount uint))
;;                                                   ;; a signed intent of the caller's
;;   (refund-onchain-payment (token <sip-010-trait>) (payment-id (string-ascii 36)) (amount uint))
;;                                                   ;; the caller's own on-chain intent
;; Customers
;;   (pay-signed-intent (token <sip-010-trait>) (intent-id (string-ascii 36)) (merchant principal)
;;                      (amount uint) (fee uint) (expires-at uint) (signature (buff 65)))
;;   (process-payment (token <sip-010-trait>) (merchant principal) (payment-id (string-ascii 36))
;;                    (amount uint))
;; Anyone
;;   (distribute-fees (token <sip-010-trait>) (payment-id (string-ascii 36)))      ;; signed intent
;;   (distribute-onchain-fees (token <sip-010-trait>) (merchant principal)
;;                            (payment-id (string-ascii 36)))
;; Owner (admin)
;;   (set-gateway-key (new-key (buff 33)))      (rotate-gateway-key (new-key (buff 33)) (overlap uint))
;;   (set-fee-recipient (recipient principal))  (set-fee-bps (bps uint))
;;   (set-fee-cap (cap-bps uint))               (set-sbtc-token (token principal))
;;   (pause) (unpause)
;;   (suspend-merchant (merchant principal))    (reinstate-merchant (merchant principal))
;;   (revoke-signed-intent (intent-id (string-ascii 36)))
;;   (recover-stray (token <sip-010-trait>) (amount uint) (recipient principal))
;;   (transfer-ownership (new-owner principal)) (cancel-ownership-transfer)
;; Pending owner
;;   (accept-ownership)
;; Read-only
;;   (get-merchant (merchant principal))           -> (optional merchant tuple; `active` and
;;                                                    `total-processed` as they are now)
;;   (get-merchant-totals (merchant principal))    -> { processed, received, payments }
;;   (is-suspended (who principal))                -> bool (on the deny list)
;;   (get-signed-intent (intent-id (string-ascii 36)))             -> (optional intent tuple)
;;   (get-payment-intent (merchant principal) (payment-id (string-ascii 36))) -> (optional ...)
;;   (get-signed-intent-status (intent-id (string-ascii 36)))      -> "unknown" | "paid" |
;;                                                                    "refunded" | "cancelled"
;;   (get-intent-status (merchant principal) (payment-id (string-ascii 36)))
;;                                  -> "unknown" | "pending" | "expired" | "paid" | "refunded"
;;                                     | "cancelled"
;;   (get-config)                   -> owner, pending-owner, paused, sbtc-token, gateway-pubkey,
;;        previous-gateway-pubkey, previous-key-valid-until, fee-recipient, fee-bps,
;;        fee-cap-bps, max-fee-bps, fees-pending, change-delay, chain-id, contract
;;        (the values in force at the current block; fees-pending in the token in force)
;;   (get-pending-changes)          -> { token, fee-recipient, fee-bps, fee-cap }, each
;;                                     { old, new, effective-at }
;;   (get-fees-held (token principal))             -> uint
;;   (calculate-fee (amount uint))                 -> fee of an on-chain intent at the rate in force
;;   (get-terms-hash intent-id merchant amount fee expires-at token)              -> (buff 32)
;;   (verify-intent-signature intent-id merchant amount fee expires-at token signature) -> bool
;; Return values: pay-signed-intent, process-payment and the admin functions (ok true);
;; create-payment-intent (ok { fee }); refunds (ok total-refunded); fee pay-outs (ok fee);
;; recover-stray (ok amount).
;;
;; Differences from the seed's sketch, on purpose:
;; - `payment-intents` is keyed by { merchant, payment-id } and `process-payment` names the
;;   merchant and the amount (a first-come id namespace let a stranger squat or redirect);
;;   gateway-signed intents have their own map.
;; - `create-payment-intent` takes an `expires-at` height (the seed's map has `expires-at`
;;   but no way to set it) and requires a registered, active merchant as caller.
;; - `process-payment`, `distribute-fees`, `refund-payment` take the token as a trait
;;   reference (a contract can only call a token through a trait or a literal), and the payer
;;   of `process-payment` is `tx-sender` instead of a `customer` argument: sBTC can only be
;;   moved from the transaction's sender, so the argument could only ever equal it.
;; - The `merchants` map keeps the seed's shape; its `active` and `total-processed` fields are
;;   answered by `get-merchant` from the deny list and the payee totals, which cover
;;   unregistered payees too.
;;
;; Authorization: admin functions check `contract-caller` against the owner, so a contract
;; the owner calls cannot act as the owner. Merchant actions (register, update, create,
;; cancel, refund) require `contract-caller` = `tx-sender` = the merchant: a contract the
;; merchant is lured into calling has itself as contract-caller and is refused (u129); a
;; merchant that is itself a contract acts with `as-contract?` (then both are that contract),
;; which it can only do on purpose. Customers may pay through any contract: the sBTC they move
;; must come from `tx-sender` (the token checks that) and their wallets bound what such a call
;; can move with deny-mode post-conditions.
;;
;; Pause stops payments, intent creation and merchant registration. Refunds, fee
;; distribution, cancellation and admin functions keep working while paused.
;;
;; State before calls out: every function writes its records (intent, totals, held fees) before
;; it calls the token, so a token that calls back in (a transfer hook) sees the final state.
;;
;; ============================================================================================
;; ERROR CODES (every one distinct)
;; ============================================================================================
;;   u100 ERR-NOT-OWNER              caller is not the owner
;;   u101 ERR-NOT-PENDING-OWNER      caller is not the pending owner / no transfer in progress
;;   u102 ERR-PAUSED                 contract paused
;;   u103 ERR-WRONG-TOKEN            token is not accepted, or not the intent's own token
;;   u104 ERR-MERCHANT-EXISTS        merchant already registered
;;   u105 ERR-MERCHANT-NOT-FOUND     merchant not registered (update, on-chain intents)
;;   u106 ERR-MERCHANT-INACTIVE      the payee is suspended (on the owner's deny list)
;;   u107 ERR-INTENT-EXISTS          intent id already used in its namespace
;;   u108 ERR-INTENT-NOT-FOUND       no such intent
;;   u109 ERR-ALREADY-PAID           intent already paid (or refunded)
;;   u110 ERR-EXPIRED                stacks-block-height >= expires-at
;;   u111 ERR-CANCELLED              intent cancelled / signed intent revoked
;;   u112 ERR-INVALID-AMOUNT         amount is zero
;;   u113 ERR-INVALID-FEE            fee above the cap in force (either payment path), or a
;;                                   fee rate above the cap (set-fee-bps)
;;   u114 ERR-BAD-SIGNATURE          signature does not match the terms and the gateway key
;;   u115 ERR-UNDERPAID              payer's balance is below the amount due
;;   u116 ERR-INVALID-EXPIRY         expires-at not in the future when creating an intent
;;   u117 ERR-NOT-MERCHANT           caller is not the intent's merchant (refund, cancel)
;;   u118 ERR-NOT-PAID               refund or fee distribution of an intent that is not paid
;;   u119 ERR-REFUND-EXCEEDS         refunds would exceed the amount paid
;;   u120 ERR-NO-FEE                 no held fee: zero, paid straight to the recipient, or
;;                                   already distributed
;;   u121 ERR-INVALID-ID             empty intent id
;;   u122 ERR-FEE-CAP-TOO-HIGH       fee cap above MAX-FEE-BPS, or below the fee rate
;;   u123 ERR-INVALID-KEY            public key is not a compressed secp256k1 key (02/03 prefix)
;;   u124 ERR-SELF-PAYMENT           payer is the merchant
;;   u125 ERR-INVALID-REFUND         refund amount is zero
;;   u126 ERR-NOT-PENDING            intent is not pending (cancel of a paid/cancelled intent)
;;   u127 ERR-FEE-TRANSFER           a transfer out of the contract broke its allowance
;;   u128 ERR-TERMS-MISMATCH         process-payment's amount is not the intent's
;;   u129 ERR-PROXY-CALL             a merchant action called through another contract
;;   u130 ERR-TOKEN-IN-GRACE         a token change while the replaced token is still accepted
;;   u131 ERR-STRAY-EXCEEDS          recovery above the balance not owed to anyone
;;   u132 ERR-OVERLAP-TOO-LONG       key rotation overlap above MAX-KEY-OVERLAP
;;   u133 ERR-INVALID-RECIPIENT      the fee recipient cannot be this contract
;; Errors of the token contract itself (e.g. sBTC's u1..u4) are passed through unchanged.
;;
;; ============================================================================================
;; PRINTED EVENTS (print tuples; `event` is a string-ascii name)
;; ============================================================================================
;;   merchant-registered  { event, merchant, name, email, block }
;;   merchant-updated     { event, merchant, name, email }
;;   merchant-suspended   { event, merchant, by }
;;   merchant-reinstated  { event, merchant, by }
;;   intent-created       { event, intent-id, merchant, amount, fee, expires-at, description,
;;                          token, block }
;;   intent-cancelled     { event, intent-id, merchant, by }
;;   intent-revoked       { event, intent-id, by }
;;   intent-paid          { event, intent-id, merchant, payer, amount, fee, merchant-amount,
;;                          signed (true: pay-signed-intent, false: process-payment), token,
;;                          fee-recipient (none when fee is 0), fee-held, block }
;;   refund               { event, intent-id, merchant, payer, amount, total-refunded,
;;                          fully-refunded, signed, token }
;;   fees-distributed     { event, intent-id, merchant, signed, recipient, amount }
;;   stray-recovered      { event, token, amount, recipient, owed }
;;   gateway-key-rotated  { event, old-key, new-key, old-key-valid-until }
;;   fee-recipient-changed { event, old-recipient, new-recipient, effective-at }
;;   fee-rate-changed     { event, old-bps, new-bps, effective-at }
;;   fee-cap-changed      { event, old-bps, new-bps, effective-at }
;;   token-changed        { event, old-token, new-token, effective-at }
;;   paused               { event, by }
;;   unpaused             { event, by }
;;   owner-transfer-started   { event, owner, pending-owner }
;;   owner-transfer-cancelled { event, owner, pending-owner }
;;   owner-transfer-completed { event, old-owner, new-owner }
;;
;; Intent statuses (the `status` field): "pending" (created on chain, unpaid), "paid",
;; "refunded" (refunded in full; partial refunds keep "paid" and raise `refunded`),
;; "cancelled". Expiry is not stored: `get-intent-status` answers "expired" for a pending
;; intent past its height.

;; --------------------------------------------------------------------------------------------
;; SIP-010 fungible token trait (structural: any SIP-010 token conforms, which is why the token
;; is always checked with `contract-of` against the accepted / recorded principal)
;; --------------------------------------------------------------------------------------------
(define-trait sip-010-trait
  (
    (transfer (uint principal principal (optional (buff 34))) (response bool uint))
    (get-name () (response (string-ascii 32) uint))
    (get-symbol () (response (string-ascii 32) uint))
    (get-decimals () (response uint uint))
    (get-balance (principal) (response uint uint))
    (get-total-supply () (response uint uint))
    (get-token-uri () (response (optional (string-utf8 256)) uint))
  )
)

;; --------------------------------------------------------------------------------------------
;; Constants
;; --------------------------------------------------------------------------------------------
(define-constant BPS-DENOMINATOR u10000)
;; Hard cap on any fee, in basis points (10%). The owner can lower the cap, never raise it above.
(define-constant MAX-FEE-BPS u1000)
(define-constant DEFAULT-FEE-BPS u100)
;; Blocks between an owner change's announcement and its effect (and the replaced token's grace).
(define-constant CHANGE-DELAY u4320)
;; The longest a planned key rotation keeps the replaced key valid.
(define-constant MAX-KEY-OVERLAP u4320)
;; All zeros: no key (no signature verifies against it).
(define-constant NO-KEY 0x000000000000000000000000000000000000000000000000000000000000000000)

(define-constant STATUS-PENDING "pending")
(define-constant STATUS-PAID "paid")
(define-constant STATUS-REFUNDED "refunded")
(define-constant STATUS-CANCELLED "cancelled")

(define-constant ERR-NOT-OWNER (err u100))
(define-constant ERR-NOT-PENDING-OWNER (err u101))
(define-constant ERR-PAUSED (err u102))
(define-constant ERR-WRONG-TOKEN (err u103))
(define-constant ERR-MERCHANT-EXISTS (err u104))
(define-constant ERR-MERCHANT-NOT-FOUND (err u105))
(define-constant ERR-MERCHANT-INACTIVE (err u106))
(define-constant ERR-INTENT-EXISTS (err u107))
(define-constant ERR-INTENT-NOT-FOUND (err u108))
(define-constant ERR-ALREADY-PAID (err u109))
(define-constant ERR-EXPIRED (err u110))
(define-constant ERR-CANCELLED (err u111))
(define-constant ERR-INVALID-AMOUNT (err u112))
(define-constant ERR-INVALID-FEE (err u113))
(define-constant ERR-BAD-SIGNATURE (err u114))
(define-constant ERR-UNDERPAID (err u115))
(define-constant ERR-INVALID-EXPIRY (err u116))
(define-constant ERR-NOT-MERCHANT (err u117))
(define-constant ERR-NOT-PAID (err u118))
(define-constant ERR-REFUND-EXCEEDS (err u119))
(define-constant ERR-NO-FEE (err u120))
(define-constant ERR-INVALID-ID (err u121))
(define-constant ERR-FEE-CAP-TOO-HIGH (err u122))
(define-constant ERR-INVALID-KEY (err u123))
(define-constant ERR-SELF-PAYMENT (err u124))
(define-constant ERR-INVALID-REFUND (err u125))
(define-constant ERR-NOT-PENDING (err u126))
(define-constant ERR-FEE-TRANSFER (err u127))
(define-constant ERR-TERMS-MISMATCH (err u128))
(define-constant ERR-PROXY-CALL (err u129))
(define-constant ERR-TOKEN-IN-GRACE (err u130))
(define-constant ERR-STRAY-EXCEEDS (err u131))
(define-constant ERR-OVERLAP-TOO-LONG (err u132))
(define-constant ERR-INVALID-RECIPIENT (err u133))

;; --------------------------------------------------------------------------------------------
;; Configuration
;; --------------------------------------------------------------------------------------------
(define-data-var contract-owner principal tx-sender)
(define-data-var pending-owner (optional principal) none)
(define-data-var paused bool false)
;; Compressed secp256k1 public key of the gateway's intent-signing key. NO-KEY = unset: no
;; signature verifies until the owner sets a key. During a planned rotation the replaced key
;; also verifies, below `previous-key-until`.
(define-data-var gateway-pubkey (buff 33) NO-KEY)
(define-data-var previous-gateway-pubkey (buff 33) NO-KEY)
(define-data-var previous-key-until uint u0)
;; Announced settings: `old` is in force below `effective-at`, `new` from it on. Simnet and
;; mainnet sBTC live at the default token id.
(define-data-var token-setting
  { old: principal, new: principal, effective-at: uint }
  { old: 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token,
    new: 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token, effective-at: u0 }
)
(define-data-var fee-recipient-setting
  { old: principal, new: principal, effective-at: uint }
  { old: tx-sender, new: tx-sender, effective-at: u0 }
)
(define-data-var fee-bps-setting
  { old: uint, new: uint, effective-at: uint }
  { old: DEFAULT-FEE-BPS, new: DEFAULT-FEE-BPS, effective-at: u0 }
)
(define-data-var fee-cap-setting
  { old: uint, new: uint, effective-at: uint }
  { old: MAX-FEE-BPS, new: MAX-FEE-BPS, effective-at: u0 }
)

;; --------------------------------------------------------------------------------------------
;; Data (the seed's maps, extended)
;; --------------------------------------------------------------------------------------------
;; Registered merchants (the seed's shape). `active` and `total-processed` are answered by
;; `get-merchant` from `suspended` and `merchant-totals`, which cover unregistered payees too.
(define-map merchants
  principal
  {
    name: (string-ascii 100),
    email: (string-ascii 100),
    active: bool,
    total-processed: uint,
    created-at: uint,
  }
)

;; The owner's deny list: payees that cannot be paid (registered or not).
(define-map suspended principal bool)

;; What each payee was paid through this contract: gross, net of fees, and how many payments.
(define-map merchant-totals
  principal
  {
    processed: uint,
    received: uint,
    payments: uint,
  }
)

;; Gateway-signed intents: only `pay-signed-intent` and `revoke-signed-intent` write here.
(define-map signed-intents
  (string-ascii 36)
  {
    merchant: principal,
    amount: uint,
    fee: uint,
    status: (string-ascii 20),
    customer: (optional principal),
    created-at: uint,
    expires-at: uint,
    signed: bool,
    token: principal,
    refunded: uint,
    fee-recipient: (optional principal),
    fee-held: bool,
    fee-distributed: bool,
    paid-at: (optional uint),
  }
)

;; Merchants' own on-chain intents, keyed by their merchant.
(define-map payment-intents
  {
    merchant: principal,
    payment-id: (string-ascii 36),
  }
  {
    merchant: principal,
    amount: uint,
    fee: uint,
    status: (string-ascii 20),
    customer: (optional principal),
    created-at: uint,
    expires-at: uint,
    ;; false: created on chain (true only in `signed-intents`)
    signed: bool,
    ;; the token it is paid and refunded in (the token in force at creation)
    token: principal,
    ;; total refunded so far (<= amount)
    refunded: uint,
    ;; who the fee belongs to (set on payment; none when the fee is zero)
    fee-recipient: (optional principal),
    ;; true when this contract holds the fee (the payer was the fee recipient)
    fee-held: bool,
    ;; true once a held fee has been paid out
    fee-distributed: bool,
    ;; height of the block that paid it
    paid-at: (optional uint),
  }
)

;; Fees this contract holds, per token (what it owes; everything above is stray).
(define-map fees-held principal uint)

;; --------------------------------------------------------------------------------------------
;; Private helpers
;; --------------------------------------------------------------------------------------------
(define-private (is-owner)
  (is-eq contract-caller (var-get contract-owner))
)

;; A merchant action: called by the merchant's own transaction, not by a contract in between.
(define-private (check-direct)
  (ok (asserts! (is-eq contract-caller tx-sender) ERR-PROXY-CALL))
)

(define-private (check-merchant-caller (merchant principal))
  (begin
    (asserts! (is-eq tx-sender merchant) ERR-NOT-MERCHANT)
    (check-direct)
  )
)

(define-private (principal-in-force (s {
  old: principal,
  new: principal,
  effective-at: uint,
}))
  (if (>= stacks-block-height (get effective-at s))
    (get new s)
    (get old s)
  )
)

(define-private (uint-in-force (s {
  old: uint,
  new: uint,
  effective-at: uint,
}))
  (if (>= stacks-block-height (get effective-at s))
    (get new s)
    (get old s)
  )
)

;; A change announced now: what is in force becomes `old` (a pending change is replaced).
(define-private (announce-principal
    (s {
      old: principal,
      new: principal,
      effective-at: uint,
    })
    (value principal)
  )
  {
    old: (principal-in-force s),
    new: value,
    effective-at: (+ stacks-block-height CHANGE-DELAY),
  }
)

(define-private (announce-uint
    (s {
      old: uint,
      new: uint,
      effective-at: uint,
    })
    (value uint)
  )
  {
    old: (uint-in-force s),
    new: value,
    effective-at: (+ stacks-block-height CHANGE-DELAY),
  }
)

(define-private (token-in-force)
  (principal-in-force (var-get token-setting))
)

(define-private (fee-recipient-in-force)
  (principal-in-force (var-get fee-recipient-setting))
)

;; The token in force, or the one it replaced during the CHANGE-DELAY blocks after the change.
(define-private (token-accepted (token principal))
  (let ((s (var-get token-setting)))
    (or
      (is-eq token (principal-in-force s))
      (and
        (is-eq token (get old s))
        (< stacks-block-height (+ (get effective-at s) CHANGE-DELAY))
      )
    )
  )
)

;; A signed intent's id must not be in its map: paid/refunded -> ERR-ALREADY-PAID, revoked ->
;; ERR-CANCELLED.
(define-private (check-signed-id-unused (intent-id (string-ascii 36)))
  (match (map-get? signed-intents intent-id)
    existing (if (is-eq (get status existing) STATUS-CANCELLED)
      ERR-CANCELLED
      ERR-ALREADY-PAID
    )
    (ok true)
  )
)

(define-private (calc-fee (amount uint) (bps uint))
  (/ (* amount bps) BPS-DENOMINATOR)
)

;; fee within the cap in force: fee / amount <= fee-cap-bps / 10000
(define-private (fee-within-cap (amount uint) (fee uint))
  (<= (* fee BPS-DENOMINATOR) (* amount (uint-in-force (var-get fee-cap-setting))))
)

;; Registered and not suspended: for a merchant's own on-chain intents.
(define-private (check-active-merchant (merchant principal))
  (begin
    (asserts! (is-some (map-get? merchants merchant)) ERR-MERCHANT-NOT-FOUND)
    (ok (asserts! (not (is-suspended merchant)) ERR-MERCHANT-INACTIVE))
  )
)

;; Who can be paid, by whom: not a suspended payee, not oneself.
(define-private (check-payee (merchant principal))
  (begin
    (asserts! (not (is-suspended merchant)) ERR-MERCHANT-INACTIVE)
    (ok (asserts! (not (is-eq tx-sender merchant)) ERR-SELF-PAYMENT))
  )
)

;; The fields a payment sets on its intent: the fee's owner is fixed here, at payment.
(define-private (paid-fields (fee uint))
  (let ((recipient (fee-recipient-in-force)))
    {
      status: STATUS-PAID,
      customer: (some tx-sender),
      paid-at: (some stacks-block-height),
      fee-recipient: (if (> fee u0)
        (some recipient)
        none
      ),
      fee-held: (and (> fee u0) (is-eq tx-sender recipient)),
    }
  )
)

;; Credits the payee's totals (and a held fee), then moves `amount` from tx-sender:
;; `amount - fee` to the merchant and `fee` to the fee recipient (to this contract, held, when
;; the payer is the recipient), and prints `intent-paid`. The caller has recorded the intent.
(define-private (settle
    (token <sip-010-trait>)
    (intent-id (string-ascii 36))
    (merchant principal)
    (amount uint)
    (fee uint)
    (signed bool)
  )
  (let (
      (payer tx-sender)
      (token-id (contract-of token))
      (merchant-amount (- amount fee))
      (paid (paid-fields fee))
      (held (get fee-held paid))
      (totals (get-merchant-totals merchant))
    )
    (map-set merchant-totals merchant {
      processed: (+ (get processed totals) amount),
      received: (+ (get received totals) merchant-amount),
      payments: (+ (get payments totals) u1),
    })
    (if held
      (map-set fees-held token-id (+ (get-fees-held token-id) fee))
      true
    )
    ;; A short balance gets its own error instead of the token's generic (err u1).
    (asserts! (>= (unwrap! (contract-call? token get-balance payer) ERR-UNDERPAID) amount)
      ERR-UNDERPAID
    )
    (try! (contract-call? token transfer merchant-amount payer merchant none))
    (if (> fee u0)
      (try! (contract-call? token transfer fee payer
        (if held
          current-contract
          (fee-recipient-in-force)
        )
        none
      ))
      true
    )
    (print {
      event: "intent-paid",
      intent-id: intent-id,
      merchant: merchant,
      payer: payer,
      amount: amount,
      fee: fee,
      merchant-amount: merchant-amount,
      signed: signed,
      token: token-id,
      fee-recipient: (get fee-recipient paid),
      fee-held: held,
      block: stacks-block-height,
    })
    (ok true)
  )
)

;; A refund's checks, and the intent as it is after it (written before the token moves).
(define-private (refunded-record
    (token <sip-010-trait>)
    (intent {
      merchant: principal,
      amount: uint,
      fee: uint,
      status: (string-ascii 20),
      customer: (optional principal),
      created-at: uint,
      expires-at: uint,
      signed: bool,
      token: principal,
      refunded: uint,
      fee-recipient: (optional principal),
      fee-held: bool,
      fee-distributed: bool,
      paid-at: (optional uint),
    })
    (amount uint)
  )
  (let (
      (payer (unwrap! (get customer intent) ERR-NOT-PAID))
      (total (+ (get refunded intent) amount))
    )
    (asserts! (is-eq (contract-of token) (get token intent)) ERR-WRONG-TOKEN)
    (try! (check-merchant-caller (get merchant intent)))
    (asserts! (> amount u0) ERR-INVALID-REFUND)
    (asserts! (<= total (get amount intent)) ERR-REFUND-EXCEEDS)
    (ok (merge intent {
      refunded: total,
      status: (if (is-eq total (get amount intent))
        STATUS-REFUNDED
        (get status intent)
      ),
    }))
  )
)

;; The merchant (tx-sender) pays the refund back to the intent's payer.
(define-private (send-refund
    (token <sip-010-trait>)
    (intent-id (string-ascii 36))
    (after {
      merchant: principal,
      amount: uint,
      fee: uint,
      status: (string-ascii 20),
      customer: (optional principal),
      created-at: uint,
      expires-at: uint,
      signed: bool,
      token: principal,
      refunded: uint,
      fee-recipient: (optional principal),
      fee-held: bool,
      fee-distributed: bool,
      paid-at: (optional uint),
    })
    (amount uint)
  )
  (let ((payer (unwrap-panic (get customer after))))
    (try! (contract-call? token transfer amount tx-sender payer none))
    (print {
      event: "refund",
      intent-id: intent-id,
      merchant: tx-sender,
      payer: payer,
      amount: amount,
      total-refunded: (get refunded after),
      fully-refunded: (is-eq (get refunded after) (get amount after)),
      signed: (get signed after),
      token: (get token after),
    })
    (ok (get refunded after))
  )
)

;; A held fee's pay-out checks, and the intent as it is after it.
(define-private (distributed-record
    (token <sip-010-trait>)
    (intent {
      merchant: principal,
      amount: uint,
      fee: uint,
      status: (string-ascii 20),
      customer: (optional principal),
      created-at: uint,
      expires-at: uint,
      signed: bool,
      token: principal,
      refunded: uint,
      fee-recipient: (optional principal),
      fee-held: bool,
      fee-distributed: bool,
      paid-at: (optional uint),
    })
  )
  (begin
    (asserts! (is-eq (contract-of token) (get token intent)) ERR-WRONG-TOKEN)
    (asserts! (is-some (get paid-at intent)) ERR-NOT-PAID)
    (asserts! (and (get fee-held intent) (not (get fee-distributed intent))) ERR-NO-FEE)
    (ok (merge intent { fee-distributed: true }))
  )
)

;; Pays a held fee to the recipient recorded with its intent, and to no one else: the
;; `as-contract?` allowance is exactly the fee.
(define-private (pay-out-fee
    (token <sip-010-trait>)
    (intent-id (string-ascii 36))
    (intent {
      merchant: principal,
      amount: uint,
      fee: uint,
      status: (string-ascii 20),
      customer: (optional principal),
      created-at: uint,
      expires-at: uint,
      signed: bool,
      token: principal,
      refunded: uint,
      fee-recipient: (optional principal),
      fee-held: bool,
      fee-distributed: bool,
      paid-at: (optional uint),
    })
  )
  (let (
      (fee (get fee intent))
      (token-id (contract-of token))
      (recipient (unwrap-panic (get fee-recipient intent)))
    )
    (map-set fees-held token-id (- (get-fees-held token-id) fee))
    (unwrap!
      (as-contract? ((with-ft token-id "*" fee))
        (try! (contract-call? token transfer fee current-contract recipient none))
      )
      ERR-FEE-TRANSFER
    )
    (print {
      event: "fees-distributed",
      intent-id: intent-id,
      merchant: (get merchant intent),
      signed: (get signed intent),
      recipient: recipient,
      amount: fee,
    })
    (ok fee)
  )
)

(define-private (check-key (new-key (buff 33)))
  (let ((prefix (default-to 0x00 (element-at? new-key u0))))
    (ok (asserts!
      (and (is-eq (len new-key) u33) (or (is-eq prefix 0x02) (is-eq prefix 0x03)))
      ERR-INVALID-KEY
    ))
  )
)

;; --------------------------------------------------------------------------------------------
;; Read-only
;; --------------------------------------------------------------------------------------------
(define-read-only (get-merchant (merchant principal))
  (match (map-get? merchants merchant)
    m (some (merge m {
      active: (not (is-suspended merchant)),
      total-processed: (get processed (get-merchant-totals merchant)),
    }))
    none
  )
)

(define-read-only (get-merchant-totals (merchant principal))
  (default-to {
    processed: u0,
    received: u0,
    payments: u0,
  }
    (map-get? merchant-totals merchant)
  )
)

(define-read-only (is-suspended (who principal))
  (default-to false (map-get? suspended who))
)

(define-read-only (get-signed-intent (intent-id (string-ascii 36)))
  (map-get? signed-intents intent-id)
)

(define-read-only (get-payment-intent
    (merchant principal)
    (payment-id (string-ascii 36))
  )
  (map-get? payment-intents {
    merchant: merchant,
    payment-id: payment-id,
  })
)

;; "unknown", "paid", "refunded" or "cancelled" (revoked)
(define-read-only (get-signed-intent-status (intent-id (string-ascii 36)))
  (match (map-get? signed-intents intent-id)
    intent (get status intent)
    "unknown"
  )
)

;; "unknown", "pending", "expired", "paid", "refunded" or "cancelled"
(define-read-only (get-intent-status
    (merchant principal)
    (payment-id (string-ascii 36))
  )
  (match (get-payment-intent merchant payment-id)
    intent (if (and
        (is-eq (get status intent) STATUS-PENDING)
        (>= stacks-block-height (get expires-at intent))
      )
      "expired"
      (get status intent)
    )
    "unknown"
  )
)

(define-read-only (get-config)
  {
    owner: (var-get contract-owner),
    pending-owner: (var-get pending-owner),
    paused: (var-get paused),
    sbtc-token: (token-in-force),
    gateway-pubkey: (var-get gateway-pubkey),
    previous-gateway-pubkey: (if (< stacks-block-height (var-get previous-key-until))
      (some (var-get previous-gateway-pubkey))
      none
    ),
    previous-key-valid-until: (var-get previous-key-until),
    fee-recipient: (fee-recipient-in-force),
    fee-bps: (uint-in-force (var-get fee-bps-setting)),
    fee-cap-bps: (uint-in-force (var-get fee-cap-setting)),
    max-fee-bps: MAX-FEE-BPS,
    fees-pending: (get-fees-held (token-in-force)),
    change-delay: CHANGE-DELAY,
    chain-id: chain-id,
    contract: current-contract,
  }
)

(define-read-only (get-pending-changes)
  {
    token: (var-get token-setting),
    fee-recipient: (var-get fee-recipient-setting),
    fee-bps: (var-get fee-bps-setting),
    fee-cap: (var-get fee-cap-setting),
  }
)

(define-read-only (get-fees-held (token principal))
  (default-to u0 (map-get? fees-held token))
)

;; Fee for an on-chain intent of `amount` at the rate in force (rounded down).
(define-read-only (calculate-fee (amount uint))
  (calc-fee amount (uint-in-force (var-get fee-bps-setting)))
)

;; The message the gateway signs for these terms (see the header).
(define-read-only (get-terms-hash
    (intent-id (string-ascii 36))
    (merchant principal)
    (amount uint)
    (fee uint)
    (expires-at uint)
    (token principal)
  )
  (sha256 (unwrap-panic (to-consensus-buff? {
    amount: amount,
    chain-id: chain-id,
    contract: current-contract,
    expires-at: expires-at,
    fee: fee,
    intent-id: intent-id,
    merchant: merchant,
    token: token,
  })))
)

;; Signed by the gateway key, or by the key a planned rotation replaced, within its overlap.
(define-read-only (verify-intent-signature
    (intent-id (string-ascii 36))
    (merchant principal)
    (amount uint)
    (fee uint)
    (expires-at uint)
    (token principal)
    (signature (buff 65))
  )
  (let ((msg (get-terms-hash intent-id merchant amount fee expires-at token)))
    (or
      (secp256k1-verify msg signature (var-get gateway-pubkey))
      (and
        (< stacks-block-height (var-get previous-key-until))
        (secp256k1-verify msg signature (var-get previous-gateway-pubkey))
      )
    )
  )
)

;; --------------------------------------------------------------------------------------------
;; Merchants
;; --------------------------------------------------------------------------------------------
(define-public (register-merchant (merchant-data {
  name: (string-ascii 100),
  email: (string-ascii 100),
}))
  (begin
    (asserts! (not (var-get paused)) ERR-PAUSED)
    (try! (check-direct))
    (asserts!
      (map-insert merchants tx-sender {
        name: (get name merchant-data),
        email: (get email merchant-data),
        active: true,
        total-processed: u0,
        created-at: stacks-block-height,
      })
      ERR-MERCHANT-EXISTS
    )
    (print {
      event: "merchant-registered",
      merchant: tx-sender,
      name: (get name merchant-data),
      email: (get email merchant-data),
      block: stacks-block-height,
    })
    (ok true)
  )
)

(define-public (update-merchant (merchant-data {
  name: (string-ascii 100),
  email: (string-ascii 100),
}))
  (let ((m (unwrap! (map-get? merchants tx-sender) ERR-MERCHANT-NOT-FOUND)))
    (try! (check-direct))
    (map-set merchants tx-sender
      (merge m {
        name: (get name merchant-data),
        email: (get email merchant-data),
      })
    )
    (print {
      event: "merchant-updated",
      merchant: tx-sender,
      name: (get name merchant-data),
      email: (get email merchant-data),
    })
    (ok true)
  )
)

;; An intent the merchant registers on chain itself; paid with `process-payment`.
;; Fee: amount * fee-bps / 10000, rounded down, at the rate in force now; token: the one in force.
(define-public (create-payment-intent
    (payment-id (string-ascii 36))
    (amount uint)
    (description (optional (string-utf8 200)))
    (expires-at uint)
  )
  (let (
      (fee (calculate-fee amount))
      (token (token-in-force))
    )
    (asserts! (not (var-get paused)) ERR-PAUSED)
    (try! (check-direct))
    (try! (check-active-merchant tx-sender))
    (asserts! (> (len payment-id) u0) ERR-INVALID-ID)
    (asserts! (> amount u0) ERR-INVALID-AMOUNT)
    (asserts! (> expires-at stacks-block-height) ERR-INVALID-EXPIRY)
    (asserts!
      (map-insert payment-intents {
        merchant: tx-sender,
        payment-id: payment-id,
      } {
        merchant: tx-sender,
        amount: amount,
        fee: fee,
        status: STATUS-PENDING,
        customer: none,
        created-at: stacks-block-height,
        expires-at: expires-at,
        signed: false,
        token: token,
        refunded: u0,
        fee-recipient: none,
        fee-held: false,
        fee-distributed: false,
        paid-at: none,
      })
      ERR-INTENT-EXISTS
    )
    (print {
      event: "intent-created",
      intent-id: payment-id,
      merchant: tx-sender,
      amount: amount,
      fee: fee,
      expires-at: expires-at,
      description: description,
      token: token,
      block: stacks-block-height,
    })
    (ok { fee: fee })
  )
)

;; The merchant (or the owner) cancels a pending on-chain intent.
(define-public (cancel-payment-intent
    (merchant principal)
    (payment-id (string-ascii 36))
  )
  (let (
      (key {
        merchant: merchant,
        payment-id: payment-id,
      })
      (intent (unwrap! (map-get? payment-intents key) ERR-INTENT-NOT-FOUND))
    )
    (asserts! (or (is-owner) (is-eq tx-sender merchant)) ERR-NOT-MERCHANT)
    (asserts! (or (is-owner) (is-eq contract-caller tx-sender)) ERR-PROXY-CALL)
    (asserts! (is-eq (get status intent) STATUS-PENDING) ERR-NOT-PENDING)
    (map-set payment-intents key (merge intent { status: STATUS-CANCELLED }))
    (print {
      event: "intent-cancelled",
      intent-id: payment-id,
      merchant: merchant,
      by: contract-caller,
    })
    (ok true)
  )
)

;; The intent's merchant, and only the merchant, refunds all or part of a paid intent to its
;; payer, from the merchant's own balance, in the intent's token. Total refunds never exceed
;; the amount paid. `refund-payment`: a gateway-signed intent.
(define-public (refund-payment
    (token <sip-010-trait>)
    (payment-id (string-ascii 36))
    (amount uint)
  )
  (let (
      (intent (unwrap! (map-get? signed-intents payment-id) ERR-INTENT-NOT-FOUND))
      (after (try! (refunded-record token intent amount)))
    )
    (map-set signed-intents payment-id after)
    (send-refund token payment-id after amount)
  )
)

;; The same for the caller's own on-chain intent.
(define-public (refund-onchain-payment
    (token <sip-010-trait>)
    (payment-id (string-ascii 36))
    (amount uint)
  )
  (let (
      (key {
        merchant: tx-sender,
        payment-id: payment-id,
      })
      (intent (unwrap! (map-get? payment-intents key) ERR-INTENT-NOT-FOUND))
      (after (try! (refunded-record token intent amount)))
    )
    (map-set payment-intents key after)
    (send-refund token payment-id after amount)
  )
)

;; --------------------------------------------------------------------------------------------
;; Payments
;; --------------------------------------------------------------------------------------------

;; Pay a gateway-signed intent in one transaction (see the header for the terms and recipe).
(define-public (pay-signed-intent
    (token <sip-010-trait>)
    (intent-id (string-ascii 36))
    (merchant principal)
    (amount uint)
    (fee uint)
    (expires-at uint)
    (signature (buff 65))
  )
  (let ((token-id (contract-of token)))
    (asserts! (not (var-get paused)) ERR-PAUSED)
    (asserts! (token-accepted token-id) ERR-WRONG-TOKEN)
    (try! (check-signed-id-unused intent-id))
    (asserts! (> (len intent-id) u0) ERR-INVALID-ID)
    (asserts! (> amount u0) ERR-INVALID-AMOUNT)
    (asserts! (fee-within-cap amount fee) ERR-INVALID-FEE)
    (asserts! (< stacks-block-height expires-at) ERR-EXPIRED)
    (asserts!
      (verify-intent-signature intent-id merchant amount fee expires-at token-id signature)
      ERR-BAD-SIGNATURE
    )
    (try! (check-payee merchant))
    (map-set signed-intents intent-id
      (merge {
        merchant: merchant,
        amount: amount,
        fee: fee,
        created-at: stacks-block-height,
        expires-at: expires-at,
        signed: true,
        token: token-id,
        refunded: u0,
        fee-distributed: false,
      }
        (paid-fields fee)
      ))
    (settle token intent-id merchant amount fee true)
  )
)

;; Pay a merchant's on-chain intent: the customer names the merchant and the amount it expects.
(define-public (process-payment
    (token <sip-010-trait>)
    (merchant principal)
    (payment-id (string-ascii 36))
    (amount uint)
  )
  (let (
      (not-paused (asserts! (not (var-get paused)) ERR-PAUSED))
      (key {
        merchant: merchant,
        payment-id: payment-id,
      })
      (intent (unwrap! (map-get? payment-intents key) ERR-INTENT-NOT-FOUND))
      (token-id (contract-of token))
    )
    (asserts! (and (is-eq token-id (get token intent)) (token-accepted token-id))
      ERR-WRONG-TOKEN
    )
    (asserts! (not (is-eq (get status intent) STATUS-CANCELLED)) ERR-CANCELLED)
    (asserts! (is-eq (get status intent) STATUS-PENDING) ERR-ALREADY-PAID)
    (asserts! (is-eq amount (get amount intent)) ERR-TERMS-MISMATCH)
    (asserts! (< stacks-block-height (get expires-at intent)) ERR-EXPIRED)
    ;; the fee was fixed at creation; a cap lowered since then still applies
    (asserts! (fee-within-cap amount (get fee intent)) ERR-INVALID-FEE)
    (try! (check-payee merchant))
    (map-set payment-intents key (merge intent (paid-fields (get fee intent))))
    (settle token payment-id merchant amount (get fee intent) false)
  )
)

;; Pay a signed intent's held fee to the recipient recorded with it. Anyone may call it.
(define-public (distribute-fees
    (token <sip-010-trait>)
    (payment-id (string-ascii 36))
  )
  (let (
      (intent (unwrap! (map-get? signed-intents payment-id) ERR-INTENT-NOT-FOUND))
      (after (try! (distributed-record token intent)))
    )
    (map-set signed-intents payment-id after)
    (pay-out-fee token payment-id after)
  )
)

;; The same for a merchant's on-chain intent.
(define-public (distribute-onchain-fees
    (token <sip-010-trait>)
    (merchant principal)
    (payment-id (string-ascii 36))
  )
  (let (
      (key {
        merchant: merchant,
        payment-id: payment-id,
      })
      (intent (unwrap! (map-get? payment-intents key) ERR-INTENT-NOT-FOUND))
      (after (try! (distributed-record token intent)))
    )
    (map-set payment-intents key after)
    (pay-out-fee token payment-id after)
  )
)

;; --------------------------------------------------------------------------------------------
;; Admin (owner only)
;; --------------------------------------------------------------------------------------------

;; Replace the gateway key at once (a compromise): the old key, and any overlap, end now.
(define-public (set-gateway-key (new-key (buff 33)))
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (try! (check-key new-key))
    (print {
      event: "gateway-key-rotated",
      old-key: (var-get gateway-pubkey),
      new-key: new-key,
      old-key-valid-until: stacks-block-height,
    })
    (var-set previous-gateway-pubkey NO-KEY)
    (var-set previous-key-until u0)
    (ok (var-set gateway-pubkey new-key))
  )
)

;; A planned rotation: the new key from now on, the old one too for `overlap` more blocks.
(define-public (rotate-gateway-key
    (new-key (buff 33))
    (overlap uint)
  )
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (try! (check-key new-key))
    (asserts! (<= overlap MAX-KEY-OVERLAP) ERR-OVERLAP-TOO-LONG)
    (print {
      event: "gateway-key-rotated",
      old-key: (var-get gateway-pubkey),
      new-key: new-key,
      old-key-valid-until: (+ stacks-block-height overlap),
    })
    (var-set previous-gateway-pubkey (var-get gateway-pubkey))
    (var-set previous-key-until (+ stacks-block-height overlap))
    (ok (var-set gateway-pubkey new-key))
  )
)

(define-public (set-fee-recipient (recipient principal))
  (let ((s (var-get fee-recipient-setting)))
    (asserts! (is-owner) ERR-NOT-OWNER)
    (asserts! (not (is-eq recipient current-contract)) ERR-INVALID-RECIPIENT)
    (var-set fee-recipient-setting (announce-principal s recipient))
    (print {
      event: "fee-recipient-changed",
      old-recipient: (principal-in-force s),
      new-recipient: recipient,
      effective-at: (+ stacks-block-height CHANGE-DELAY),
    })
    (ok true)
  )
)

;; The rate must fit the cap the fee-cap setting is heading for (`new`).
(define-public (set-fee-bps (bps uint))
  (let ((s (var-get fee-bps-setting)))
    (asserts! (is-owner) ERR-NOT-OWNER)
    (asserts! (<= bps (get new (var-get fee-cap-setting))) ERR-INVALID-FEE)
    (var-set fee-bps-setting (announce-uint s bps))
    (print {
      event: "fee-rate-changed",
      old-bps: (uint-in-force s),
      new-bps: bps,
      effective-at: (+ stacks-block-height CHANGE-DELAY),
    })
    (ok true)
  )
)

(define-public (set-fee-cap (cap-bps uint))
  (let ((s (var-get fee-cap-setting)))
    (asserts! (is-owner) ERR-NOT-OWNER)
    (asserts!
      (and (<= cap-bps MAX-FEE-BPS) (>= cap-bps (get new (var-get fee-bps-setting))))
      ERR-FEE-CAP-TOO-HIGH
    )
    (var-set fee-cap-setting (announce-uint s cap-bps))
    (print {
      event: "fee-cap-changed",
      old-bps: (uint-in-force s),
      new-bps: cap-bps,
      effective-at: (+ stacks-block-height CHANGE-DELAY),
    })
    (ok true)
  )
)

;; Announce the accepted token (e.g. the testnet sBTC id). Refused while a replaced token is
;; still accepted for the intents signed before its change.
(define-public (set-sbtc-token (token principal))
  (let ((s (var-get token-setting)))
    (asserts! (is-owner) ERR-NOT-OWNER)
    (asserts!
      (or
        (is-eq (get old s) (get new s))
        (< stacks-block-height (get effective-at s))
        (>= stacks-block-height (+ (get effective-at s) CHANGE-DELAY))
      )
      ERR-TOKEN-IN-GRACE
    )
    (var-set token-setting (announce-principal s token))
    (print {
      event: "token-changed",
      old-token: (principal-in-force s),
      new-token: token,
      effective-at: (+ stacks-block-height CHANGE-DELAY),
    })
    (ok true)
  )
)

(define-public (pause)
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (var-set paused true)
    (print {
      event: "paused",
      by: contract-caller,
    })
    (ok true)
  )
)

(define-public (unpause)
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (var-set paused false)
    (print {
      event: "unpaused",
      by: contract-caller,
    })
    (ok true)
  )
)

;; Put a payee on the deny list (registered or not): it cannot be paid until reinstated.
(define-public (suspend-merchant (merchant principal))
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (map-set suspended merchant true)
    (print {
      event: "merchant-suspended",
      merchant: merchant,
      by: contract-caller,
    })
    (ok true)
  )
)

(define-public (reinstate-merchant (merchant principal))
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (map-delete suspended merchant)
    (print {
      event: "merchant-reinstated",
      merchant: merchant,
      by: contract-caller,
    })
    (ok true)
  )
)

;; Revoke a signed intent that has not been paid: its id is recorded as cancelled, so
;; `pay-signed-intent` answers ERR-CANCELLED. (Rotating the gateway key revokes all.)
(define-public (revoke-signed-intent (intent-id (string-ascii 36)))
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (asserts! (> (len intent-id) u0) ERR-INVALID-ID)
    (asserts!
      (map-insert signed-intents intent-id {
        merchant: contract-caller,
        amount: u0,
        fee: u0,
        status: STATUS-CANCELLED,
        customer: none,
        created-at: stacks-block-height,
        expires-at: stacks-block-height,
        signed: true,
        token: (token-in-force),
        refunded: u0,
        fee-recipient: none,
        fee-held: false,
        fee-distributed: false,
        paid-at: none,
      })
      ERR-INTENT-EXISTS
    )
    (print {
      event: "intent-revoked",
      intent-id: intent-id,
      by: contract-caller,
    })
    (ok true)
  )
)

;; Tokens sent to the contract by mistake: the owner sends up to the balance above what the
;; contract holds for fee recipients (`get-fees-held`) wherever it belongs.
(define-public (recover-stray
    (token <sip-010-trait>)
    (amount uint)
    (recipient principal)
  )
  (let (
      (token-id (contract-of token))
      (owed (get-fees-held token-id))
    )
    (asserts! (is-owner) ERR-NOT-OWNER)
    (asserts! (> amount u0) ERR-INVALID-AMOUNT)
    (asserts!
      (<= (+ amount owed)
        (unwrap! (contract-call? token get-balance current-contract) ERR-STRAY-EXCEEDS)
      )
      ERR-STRAY-EXCEEDS
    )
    (unwrap!
      (as-contract? ((with-ft token-id "*" amount))
        (try! (contract-call? token transfer amount current-contract recipient none))
      )
      ERR-FEE-TRANSFER
    )
    (print {
      event: "stray-recovered",
      token: token-id,
      amount: amount,
      recipient: recipient,
      owed: owed,
    })
    (ok amount)
  )
)

;; Two-step ownership transfer: the owner names a pending owner, who must accept.
(define-public (transfer-ownership (new-owner principal))
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (var-set pending-owner (some new-owner))
    (print {
      event: "owner-transfer-started",
      owner: contract-caller,
      pending-owner: new-owner,
    })
    (ok true)
  )
)

(define-public (cancel-ownership-transfer)
  (let ((pending (var-get pending-owner)))
    (asserts! (is-owner) ERR-NOT-OWNER)
    (asserts! (is-some pending) ERR-NOT-PENDING-OWNER)
    (var-set pending-owner none)
    (print {
      event: "owner-transfer-cancelled",
      owner: contract-caller,
      pending-owner: (unwrap-panic pending),
    })
    (ok true)
  )
)

(define-public (accept-ownership)
  (let (
      (pending (unwrap! (var-get pending-owner) ERR-NOT-PENDING-OWNER))
      (old (var-get contract-owner))
    )
    (asserts! (is-eq contract-caller pending) ERR-NOT-PENDING-OWNER)
    (var-set contract-owner pending)
    (var-set pending-owner none)
    (print {
      event: "owner-transfer-completed",
      old-owner: old,
      new-owner: pending,
    })
    (ok true)
  )
)
