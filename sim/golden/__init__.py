"""NumPy golden model: reference operators and a whole-network forward pass (fp32 and int8)."""
