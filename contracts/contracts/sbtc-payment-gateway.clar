;; title: sbtc-payment-gateway
;; summary: Non-custodial sBTC payment gateway: gateway-signed payment intents paid in one
;;          customer transaction, merchant-registered intents, partial refunds, fees, admin.
;;
;; ============================================================================================
;; TARGET: Clarity 4, epoch 3.3
;; ============================================================================================
;; - Clarity 4 is the first version with `as-contract?`, whose explicit asset allowances
;;   (`with-ft`) bound what the contract may move out of its own balance: the only place this
;;   contract spends its own sBTC is `distribute-fees`, and there the allowance is exactly the
;;   fee being paid out. Clarity 4 also gives `current-contract`, used in the signed terms.
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
;; call, `pay-signed-intent`, which checks the signature, moves the sBTC and records the intent
;; as paid. No on-chain transaction by the gateway is needed before the customer pays.
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
;;     merchant: principal }          ;; receives amount - fee
;;
;; Signing recipe:
;;   msg  = sha256( to-consensus-buff?( terms ) )            ;; 32 bytes
;;   sig  = secp256k1 ECDSA over msg (no further hashing; RFC 6979), low-S,
;;          laid out R (32) || S (32) || V (1, recovery id 0..3) = 65 bytes -- the order
;;          `secp256k1-verify` takes (the REVERSE of a transaction signature's V||R||S).
;;   key  = the gateway's compressed public key (33 bytes), set with `set-gateway-key`.
;; `get-terms-hash` (read-only) returns `msg` for given terms so off-chain code can check its
;; own serialization against the VM.
;;
;; Replay protection: the intent id is recorded on payment and can never be paid again; the
;; chain id and the contract principal in the terms stop a signature being used on another
;; network or another deployment; merchant, amount, fee and expiry are all signed.
;;
;; ============================================================================================
;; MONEY FLOW
;; ============================================================================================
;; Paying (either path) moves, in the customer's own transaction:
;;   amount - fee  customer -> merchant      (sBTC `transfer`, memo none)
;;   fee           customer -> this contract (held as the fee balance, `fees-pending`)
;; `distribute-fees` later pays one intent's fee from the contract to the fee recipient (the
;; seed's design: anyone may call it, the money can only go to the configured recipient).
;; Merchant + fee recipient therefore receive exactly `amount` per paid intent.
;; Refunds are paid by the merchant from the merchant's own balance to the intent's payer,
;; in total at most `amount` per intent (the gateway fee is not returned, as with Stripe).
;; Only the configured token is accepted: `(contract-of token)` must equal the `sbtc-token`
;; data var (default the sBTC contract 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token,
;; which is also where the Clarinet simnet has it; the owner sets the testnet id on testnet).
;; Fees: on-chain intents use `fee = amount * fee-bps / 10000`, rounded DOWN (favours the
;; merchant); signed intents carry the fee computed off chain, checked against the cap:
;; `fee * 10000 <= amount * fee-cap-bps`. `fee-bps <= fee-cap-bps <= MAX-FEE-BPS (u1000 = 10%)`.
;;
;; ============================================================================================
;; PUBLIC FUNCTIONS
;; ============================================================================================
;; Merchants
;;   (register-merchant (merchant-data { name: (string-ascii 100), email: (string-ascii 100) }))
;;   (update-merchant (merchant-data { name: (string-ascii 100), email: (string-ascii 100) }))
;;   (create-payment-intent (payment-id (string-ascii 36)) (amount uint)
;;                          (description (optional (string-utf8 200))) (expires-at uint))
;;   (cancel-payment-intent (payment-id (string-ascii 36)))
;;   (refund-payment (token <sip-010-trait>) (payment-id (string-ascii 36)) (amount uint))
;; Customers
;;   (pay-signed-intent (token <sip-010-trait>) (intent-id (string-ascii 36)) (merchant principal)
;;                      (amount uint) (fee uint) (expires-at uint) (signature (buff 65)))
;;   (process-payment (token <sip-010-trait>) (payment-id (string-ascii 36)))
;; Anyone
;;   (distribute-fees (token <sip-010-trait>) (payment-id (string-ascii 36)))
;; Owner (admin)
;;   (set-gateway-key (new-key (buff 33)))      (set-fee-recipient (recipient principal))
;;   (set-fee-bps (bps uint))                   (set-fee-cap (cap-bps uint))
;;   (set-sbtc-token (token principal))         (pause) (unpause)
;;   (suspend-merchant (merchant principal))    (reinstate-merchant (merchant principal))
;;   (revoke-signed-intent (intent-id (string-ascii 36)))
;;   (transfer-ownership (new-owner principal)) (cancel-ownership-transfer)
;; Pending owner
;;   (accept-ownership)
;; Read-only
;;   (get-merchant (merchant principal))            -> (optional merchant tuple)
;;   (get-payment-intent (payment-id (string-ascii 36))) -> (optional intent tuple)
;;   (get-intent-status (payment-id (string-ascii 36)))  -> "unknown" | "pending" | "expired"
;;                                                          | "paid" | "refunded" | "cancelled"
;;   (get-config)                                   -> owner, pending-owner, paused, sbtc-token,
;;        gateway-pubkey, fee-recipient, fee-bps, fee-cap-bps, max-fee-bps, fees-pending,
;;        chain-id, contract
;;   (calculate-fee (amount uint))                  -> fee of an on-chain intent at today's rate
;;   (get-terms-hash intent-id merchant amount fee expires-at)          -> (buff 32) message
;;   (verify-intent-signature intent-id merchant amount fee expires-at signature) -> bool
;; Return values: pay-signed-intent, process-payment and the admin functions (ok true);
;; create-payment-intent (ok { fee }); refund-payment (ok total-refunded);
;; distribute-fees (ok fee-paid-out).
;;
;; Differences from the seed's sketch, on purpose:
;; - `create-payment-intent` takes an `expires-at` height (the seed's map has `expires-at`
;;   but no way to set it) and requires a registered, active merchant as caller.
;; - `process-payment`, `distribute-fees`, `refund-payment` take the token as a trait
;;   reference (a contract can only call a token through a trait or a literal), and the payer
;;   of `process-payment` is `tx-sender` instead of a `customer` argument: sBTC can only be
;;   moved from the transaction's sender, so the argument could only ever equal it.
;;
;; Authorization: admin functions check `contract-caller` against the owner, so a contract
;; the owner calls cannot act as the owner. Merchant and customer actions use `tx-sender`,
;; because the sBTC they move must come from `tx-sender` (the token checks that); wallets
;; bound what such a call can move with deny-mode post-conditions.
;;
;; Pause stops payments, intent creation and merchant registration. Refunds, fee
;; distribution, cancellation and admin functions keep working while paused.
;;
;; ============================================================================================
;; ERROR CODES (every one distinct)
;; ============================================================================================
;;   u100 ERR-NOT-OWNER              caller is not the owner
;;   u101 ERR-NOT-PENDING-OWNER      caller is not the pending owner / no transfer in progress
;;   u102 ERR-PAUSED                 contract paused
;;   u103 ERR-WRONG-TOKEN            token is not the configured sBTC contract
;;   u104 ERR-MERCHANT-EXISTS        merchant already registered
;;   u105 ERR-MERCHANT-NOT-FOUND     merchant not registered
;;   u106 ERR-MERCHANT-INACTIVE      merchant suspended
;;   u107 ERR-INTENT-EXISTS          intent id already used (cannot overwrite another's intent)
;;   u108 ERR-INTENT-NOT-FOUND       no such intent
;;   u109 ERR-ALREADY-PAID           intent already paid (or refunded)
;;   u110 ERR-EXPIRED                stacks-block-height >= expires-at
;;   u111 ERR-CANCELLED              intent cancelled / signed intent revoked
;;   u112 ERR-INVALID-AMOUNT         amount is zero
;;   u113 ERR-INVALID-FEE            fee above the current cap (either payment path), or a
;;                                   fee rate above the cap (set-fee-bps)
;;   u114 ERR-BAD-SIGNATURE          signature does not match the terms and the gateway key
;;   u115 ERR-UNDERPAID              payer's sBTC balance is below the amount due
;;   u116 ERR-INVALID-EXPIRY         expires-at not in the future when creating an intent
;;   u117 ERR-NOT-MERCHANT           caller is not the intent's merchant (refund, cancel)
;;   u118 ERR-NOT-PAID               refund or fee distribution of an intent that is not paid
;;   u119 ERR-REFUND-EXCEEDS         refunds would exceed the amount paid
;;   u120 ERR-NO-FEE                 fee already distributed, or zero
;;   u121 ERR-INVALID-ID             empty intent id
;;   u122 ERR-FEE-CAP-TOO-HIGH       fee cap above MAX-FEE-BPS, or below the current fee rate
;;   u123 ERR-INVALID-KEY            public key is not a compressed secp256k1 key (02/03 prefix)
;;   u124 ERR-SELF-PAYMENT           payer is the merchant
;;   u125 ERR-INVALID-REFUND         refund amount is zero
;;   u126 ERR-NOT-PENDING            intent is not pending (cancel of a paid/cancelled intent)
;;   u127 ERR-FEE-TRANSFER           fee pay-out from the contract failed
;; Errors of the token contract itself (e.g. sBTC's u1..u4) are passed through unchanged.
;;
;; ============================================================================================
;; PRINTED EVENTS (print tuples; `event` is a string-ascii name)
;; ============================================================================================
;;   merchant-registered  { event, merchant, name, email, block }
;;   merchant-updated     { event, merchant, name, email }
;;   merchant-suspended   { event, merchant, by }
;;   merchant-reinstated  { event, merchant, by }
;;   intent-created       { event, intent-id, merchant, amount, fee, expires-at, description, block }
;;   intent-cancelled     { event, intent-id, merchant, by }
;;   intent-revoked       { event, intent-id, by }
;;   intent-paid          { event, intent-id, merchant, payer, amount, fee, merchant-amount,
;;                          signed (true: pay-signed-intent, false: process-payment), token, block }
;;   refund               { event, intent-id, merchant, payer, amount, total-refunded,
;;                          fully-refunded }
;;   fees-distributed     { event, intent-id, recipient, amount }
;;   gateway-key-rotated  { event, old-key, new-key }
;;   fee-recipient-changed { event, old-recipient, new-recipient }
;;   fee-rate-changed     { event, old-bps, new-bps }
;;   fee-cap-changed      { event, old-bps, new-bps }
;;   token-changed        { event, old-token, new-token }
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
;; is always checked with `contract-of` against the configured principal)
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

;; --------------------------------------------------------------------------------------------
;; Configuration
;; --------------------------------------------------------------------------------------------
(define-data-var contract-owner principal tx-sender)
(define-data-var pending-owner (optional principal) none)
(define-data-var paused bool false)
;; The only token accepted. Simnet and mainnet sBTC live at this id.
(define-data-var sbtc-token principal 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token)
;; Compressed secp256k1 public key of the gateway's intent-signing key. All zeros = unset: no
;; signature verifies until the owner sets a key.
(define-data-var gateway-pubkey (buff 33) 0x000000000000000000000000000000000000000000000000000000000000000000)
(define-data-var fee-recipient principal tx-sender)
(define-data-var fee-bps uint DEFAULT-FEE-BPS)
(define-data-var fee-cap-bps uint MAX-FEE-BPS)
;; Fees collected by payments and not yet distributed (held by this contract).
(define-data-var fees-pending uint u0)

;; --------------------------------------------------------------------------------------------
;; Data (the seed's maps, extended)
;; --------------------------------------------------------------------------------------------
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

(define-map payment-intents
  (string-ascii 36)
  {
    merchant: principal,
    amount: uint,
    fee: uint,
    status: (string-ascii 20),
    customer: (optional principal),
    created-at: uint,
    expires-at: uint,
    ;; true when paid through pay-signed-intent (no on-chain creation)
    signed: bool,
    ;; total refunded so far (<= amount)
    refunded: uint,
    ;; true once distribute-fees has paid this intent's fee out
    fee-distributed: bool,
    ;; height of the block that paid it
    paid-at: (optional uint),
  }
)

;; --------------------------------------------------------------------------------------------
;; Private helpers
;; --------------------------------------------------------------------------------------------
(define-private (is-owner)
  (is-eq contract-caller (var-get contract-owner))
)

(define-private (check-token (token <sip-010-trait>))
  (ok (asserts! (is-eq (contract-of token) (var-get sbtc-token)) ERR-WRONG-TOKEN))
)

;; A signed intent's id must not be in the map: paid/refunded -> ERR-ALREADY-PAID, revoked or
;; cancelled -> ERR-CANCELLED, a pending on-chain intent (someone else's) -> ERR-INTENT-EXISTS.
(define-private (check-intent-id-unused (intent-id (string-ascii 36)))
  (match (map-get? payment-intents intent-id)
    existing (if (is-eq (get status existing) STATUS-CANCELLED)
      ERR-CANCELLED
      (if (is-eq (get status existing) STATUS-PENDING)
        ERR-INTENT-EXISTS
        ERR-ALREADY-PAID
      )
    )
    (ok true)
  )
)

(define-private (calc-fee (amount uint) (bps uint))
  (/ (* amount bps) BPS-DENOMINATOR)
)

;; fee within the current cap: fee / amount <= fee-cap-bps / 10000
(define-private (fee-within-cap (amount uint) (fee uint))
  (<= (* fee BPS-DENOMINATOR) (* amount (var-get fee-cap-bps)))
)

;; Active-merchant check for intent creation (the payment paths check inside `settle`).
(define-private (check-active-merchant (merchant principal))
  (let ((m (unwrap! (map-get? merchants merchant) ERR-MERCHANT-NOT-FOUND)))
    (ok (asserts! (get active m) ERR-MERCHANT-INACTIVE))
  )
)

;; Moves `amount` from tx-sender: `amount - fee` to the merchant and `fee` to this contract,
;; then credits the merchant's volume and the pending fee balance, and prints `intent-paid`.
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
      (merchant-amount (- amount fee))
      (m (unwrap! (map-get? merchants merchant) ERR-MERCHANT-NOT-FOUND))
    )
    (asserts! (get active m) ERR-MERCHANT-INACTIVE)
    (asserts! (not (is-eq payer merchant)) ERR-SELF-PAYMENT)
    ;; A short balance gets its own error instead of the token's generic (err u1).
    (asserts! (>= (unwrap! (contract-call? token get-balance payer) ERR-UNDERPAID) amount)
      ERR-UNDERPAID
    )
    (try! (contract-call? token transfer merchant-amount payer merchant none))
    (if (> fee u0)
      (try! (contract-call? token transfer fee payer current-contract none))
      true
    )
    (map-set merchants merchant
      (merge m { total-processed: (+ (get total-processed m) amount) })
    )
    (var-set fees-pending (+ (var-get fees-pending) fee))
    (print {
      event: "intent-paid",
      intent-id: intent-id,
      merchant: merchant,
      payer: payer,
      amount: amount,
      fee: fee,
      merchant-amount: merchant-amount,
      signed: signed,
      token: (contract-of token),
      block: stacks-block-height,
    })
    (ok true)
  )
)

;; --------------------------------------------------------------------------------------------
;; Read-only
;; --------------------------------------------------------------------------------------------
(define-read-only (get-merchant (merchant principal))
  (map-get? merchants merchant)
)

(define-read-only (get-payment-intent (payment-id (string-ascii 36)))
  (map-get? payment-intents payment-id)
)

;; "unknown", "pending", "expired", "paid", "refunded" or "cancelled"
(define-read-only (get-intent-status (payment-id (string-ascii 36)))
  (match (map-get? payment-intents payment-id)
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
    sbtc-token: (var-get sbtc-token),
    gateway-pubkey: (var-get gateway-pubkey),
    fee-recipient: (var-get fee-recipient),
    fee-bps: (var-get fee-bps),
    fee-cap-bps: (var-get fee-cap-bps),
    max-fee-bps: MAX-FEE-BPS,
    fees-pending: (var-get fees-pending),
    chain-id: chain-id,
    contract: current-contract,
  }
)

;; Fee for an on-chain intent of `amount` at the current rate (rounded down).
(define-read-only (calculate-fee (amount uint))
  (calc-fee amount (var-get fee-bps))
)

;; The message the gateway signs for these terms (see the header).
(define-read-only (get-terms-hash
    (intent-id (string-ascii 36))
    (merchant principal)
    (amount uint)
    (fee uint)
    (expires-at uint)
  )
  (sha256 (unwrap-panic (to-consensus-buff? {
    amount: amount,
    chain-id: chain-id,
    contract: current-contract,
    expires-at: expires-at,
    fee: fee,
    intent-id: intent-id,
    merchant: merchant,
  })))
)

(define-read-only (verify-intent-signature
    (intent-id (string-ascii 36))
    (merchant principal)
    (amount uint)
    (fee uint)
    (expires-at uint)
    (signature (buff 65))
  )
  (secp256k1-verify (get-terms-hash intent-id merchant amount fee expires-at) signature
    (var-get gateway-pubkey)
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
;; Fee: amount * fee-bps / 10000, rounded down, at the rate in force now.
(define-public (create-payment-intent
    (payment-id (string-ascii 36))
    (amount uint)
    (description (optional (string-utf8 200)))
    (expires-at uint)
  )
  (let ((fee (calc-fee amount (var-get fee-bps))))
    (asserts! (not (var-get paused)) ERR-PAUSED)
    (try! (check-active-merchant tx-sender))
    (asserts! (> (len payment-id) u0) ERR-INVALID-ID)
    (asserts! (> amount u0) ERR-INVALID-AMOUNT)
    (asserts! (> expires-at stacks-block-height) ERR-INVALID-EXPIRY)
    (asserts!
      (map-insert payment-intents payment-id {
        merchant: tx-sender,
        amount: amount,
        fee: fee,
        status: STATUS-PENDING,
        customer: none,
        created-at: stacks-block-height,
        expires-at: expires-at,
        signed: false,
        refunded: u0,
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
      block: stacks-block-height,
    })
    (ok { fee: fee })
  )
)

;; The merchant (or the owner) cancels a pending on-chain intent.
(define-public (cancel-payment-intent (payment-id (string-ascii 36)))
  (let ((intent (unwrap! (map-get? payment-intents payment-id) ERR-INTENT-NOT-FOUND)))
    (asserts! (or (is-eq tx-sender (get merchant intent)) (is-owner)) ERR-NOT-MERCHANT)
    (asserts! (is-eq (get status intent) STATUS-PENDING) ERR-NOT-PENDING)
    (map-set payment-intents payment-id (merge intent { status: STATUS-CANCELLED }))
    (print {
      event: "intent-cancelled",
      intent-id: payment-id,
      merchant: (get merchant intent),
      by: tx-sender,
    })
    (ok true)
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
  (begin
    (asserts! (not (var-get paused)) ERR-PAUSED)
    (try! (check-token token))
    (try! (check-intent-id-unused intent-id))
    (asserts! (> (len intent-id) u0) ERR-INVALID-ID)
    (asserts! (> amount u0) ERR-INVALID-AMOUNT)
    (asserts! (fee-within-cap amount fee) ERR-INVALID-FEE)
    (asserts! (< stacks-block-height expires-at) ERR-EXPIRED)
    (asserts! (verify-intent-signature intent-id merchant amount fee expires-at signature)
      ERR-BAD-SIGNATURE
    )
    (try! (settle token intent-id merchant amount fee true))
    (map-set payment-intents intent-id {
      merchant: merchant,
      amount: amount,
      fee: fee,
      status: STATUS-PAID,
      customer: (some tx-sender),
      created-at: stacks-block-height,
      expires-at: expires-at,
      signed: true,
      refunded: u0,
      fee-distributed: false,
      paid-at: (some stacks-block-height),
    })
    (ok true)
  )
)

;; Pay an intent the merchant created on chain with `create-payment-intent`.
(define-public (process-payment
    (token <sip-010-trait>)
    (payment-id (string-ascii 36))
  )
  (let (
      (not-paused (asserts! (not (var-get paused)) ERR-PAUSED))
      (intent (unwrap! (map-get? payment-intents payment-id) ERR-INTENT-NOT-FOUND))
    )
    (try! (check-token token))
    (asserts! (not (is-eq (get status intent) STATUS-CANCELLED)) ERR-CANCELLED)
    (asserts! (is-eq (get status intent) STATUS-PENDING) ERR-ALREADY-PAID)
    (asserts! (< stacks-block-height (get expires-at intent)) ERR-EXPIRED)
    ;; the fee was fixed at creation; a cap lowered since then still applies
    (asserts! (fee-within-cap (get amount intent) (get fee intent)) ERR-INVALID-FEE)
    (try! (settle token payment-id (get merchant intent) (get amount intent) (get fee intent)
      false
    ))
    (map-set payment-intents payment-id
      (merge intent {
        status: STATUS-PAID,
        customer: (some tx-sender),
        paid-at: (some stacks-block-height),
      })
    )
    (ok true)
  )
)

;; Pay one paid intent's fee from the contract's fee balance to the fee recipient. Anyone may
;; call it: the money can only go to the configured recipient, once per intent.
(define-public (distribute-fees
    (token <sip-010-trait>)
    (payment-id (string-ascii 36))
  )
  (let (
      (intent (unwrap! (map-get? payment-intents payment-id) ERR-INTENT-NOT-FOUND))
      (fee (get fee intent))
      (recipient (var-get fee-recipient))
    )
    (try! (check-token token))
    (asserts! (is-some (get paid-at intent)) ERR-NOT-PAID)
    (asserts! (and (> fee u0) (not (get fee-distributed intent))) ERR-NO-FEE)
    (unwrap!
      (as-contract? ((with-ft (contract-of token) "*" fee))
        (try! (contract-call? token transfer fee current-contract recipient none))
      )
      ERR-FEE-TRANSFER
    )
    (map-set payment-intents payment-id (merge intent { fee-distributed: true }))
    (var-set fees-pending (- (var-get fees-pending) fee))
    (print {
      event: "fees-distributed",
      intent-id: payment-id,
      recipient: recipient,
      amount: fee,
    })
    (ok fee)
  )
)

;; The intent's merchant, and only the merchant, refunds all or part of a paid intent to its
;; payer, from the merchant's own balance. Total refunds never exceed the amount paid.
(define-public (refund-payment
    (token <sip-010-trait>)
    (payment-id (string-ascii 36))
    (amount uint)
  )
  (let (
      (intent (unwrap! (map-get? payment-intents payment-id) ERR-INTENT-NOT-FOUND))
      (payer (unwrap! (get customer intent) ERR-NOT-PAID))
      (total (+ (get refunded intent) amount))
      (full (is-eq total (get amount intent)))
    )
    (try! (check-token token))
    (asserts! (is-eq tx-sender (get merchant intent)) ERR-NOT-MERCHANT)
    (asserts! (> amount u0) ERR-INVALID-REFUND)
    (asserts! (<= total (get amount intent)) ERR-REFUND-EXCEEDS)
    (try! (contract-call? token transfer amount tx-sender payer none))
    (map-set payment-intents payment-id
      (merge intent {
        refunded: total,
        status: (if full
          STATUS-REFUNDED
          (get status intent)
        ),
      })
    )
    (print {
      event: "refund",
      intent-id: payment-id,
      merchant: tx-sender,
      payer: payer,
      amount: amount,
      total-refunded: total,
      fully-refunded: full,
    })
    (ok total)
  )
)

;; --------------------------------------------------------------------------------------------
;; Admin (owner only)
;; --------------------------------------------------------------------------------------------
(define-public (set-gateway-key (new-key (buff 33)))
  (let ((prefix (default-to 0x00 (element-at? new-key u0))))
    (asserts! (is-owner) ERR-NOT-OWNER)
    (asserts!
      (and (is-eq (len new-key) u33) (or (is-eq prefix 0x02) (is-eq prefix 0x03)))
      ERR-INVALID-KEY
    )
    (print {
      event: "gateway-key-rotated",
      old-key: (var-get gateway-pubkey),
      new-key: new-key,
    })
    (ok (var-set gateway-pubkey new-key))
  )
)

(define-public (set-fee-recipient (recipient principal))
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (print {
      event: "fee-recipient-changed",
      old-recipient: (var-get fee-recipient),
      new-recipient: recipient,
    })
    (ok (var-set fee-recipient recipient))
  )
)

(define-public (set-fee-bps (bps uint))
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (asserts! (<= bps (var-get fee-cap-bps)) ERR-INVALID-FEE)
    (print {
      event: "fee-rate-changed",
      old-bps: (var-get fee-bps),
      new-bps: bps,
    })
    (ok (var-set fee-bps bps))
  )
)

(define-public (set-fee-cap (cap-bps uint))
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (asserts! (and (<= cap-bps MAX-FEE-BPS) (>= cap-bps (var-get fee-bps)))
      ERR-FEE-CAP-TOO-HIGH
    )
    (print {
      event: "fee-cap-changed",
      old-bps: (var-get fee-cap-bps),
      new-bps: cap-bps,
    })
    (ok (var-set fee-cap-bps cap-bps))
  )
)

;; Change the accepted token (e.g. the testnet sBTC id). Fees already held stay in the old
;; token's balance of this contract; distribute them before switching.
(define-public (set-sbtc-token (token principal))
  (begin
    (asserts! (is-owner) ERR-NOT-OWNER)
    (print {
      event: "token-changed",
      old-token: (var-get sbtc-token),
      new-token: token,
    })
    (ok (var-set sbtc-token token))
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

(define-public (suspend-merchant (merchant principal))
  (let ((m (unwrap! (map-get? merchants merchant) ERR-MERCHANT-NOT-FOUND)))
    (asserts! (is-owner) ERR-NOT-OWNER)
    (map-set merchants merchant (merge m { active: false }))
    (print {
      event: "merchant-suspended",
      merchant: merchant,
      by: contract-caller,
    })
    (ok true)
  )
)

(define-public (reinstate-merchant (merchant principal))
  (let ((m (unwrap! (map-get? merchants merchant) ERR-MERCHANT-NOT-FOUND)))
    (asserts! (is-owner) ERR-NOT-OWNER)
    (map-set merchants merchant (merge m { active: true }))
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
      (map-insert payment-intents intent-id {
        merchant: contract-caller,
        amount: u0,
        fee: u0,
        status: STATUS-CANCELLED,
        customer: none,
        created-at: stacks-block-height,
        expires-at: stacks-block-height,
        signed: true,
        refunded: u0,
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
