interface bus_if (input logic clk);
  logic [7:0] data;
  logic valid;
  modport master (output data, valid);
endinterface
