"""What the gateway knows of each chain it follows: the watcher's cursor, the blocks it has
processed (to notice reorgs) and the inbox of chain facts. Written by the watcher; read by
anything that needs the followed tip (a charge's confirmations)."""
