"""Weight sharing on the trial side: which supernet tensors a child's parameters are
(`blocks`), and pulling and pushing them (`link`)."""
