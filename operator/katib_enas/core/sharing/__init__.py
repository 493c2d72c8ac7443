"""ENAS's weight sharing: where a trial finds the store (`reference`) and the store's rules
(`store`). See docs/weight-sharing.md for the design."""
