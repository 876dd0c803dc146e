`ifndef INC_VH
`define INC_VH
// Width of the data bus.
`define DATA_W 16
localparam INC_DEPTH = 4;
`endif
