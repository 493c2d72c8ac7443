"""ENAS's weight sharing: where a trial finds the store (`reference`) and the store's rules
(`store`). See the README's "Weight sharing" section for the design."""
