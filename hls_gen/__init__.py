"""Generation of Verilog and resource reports from the YAML RTL specs in ``configs/rtl/``."""
