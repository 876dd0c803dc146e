`define BUS_W 8
