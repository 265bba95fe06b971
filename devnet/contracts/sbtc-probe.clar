;; Refers to the real sBTC token so that the Clarinet SDK deploys its built-in sBTC contracts into
;; the simnet. Also a cheap read-only probe of the token's total supply.
(define-read-only (sbtc-total-supply)
  (contract-call? 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token get-total-supply))
