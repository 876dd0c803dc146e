interface axi_lite_if #(parameter int AW = 32, parameter int DW = 32) (input logic clk, input logic rst_n);
logic [AW-1:0] awaddr;
logic awvalid;
  logic awready;
logic [DW-1:0] wdata;

clocking cb @(posedge clk);
default input #1step output #1;
output awaddr, awvalid;
input awready;
endclocking

modport master (
output awaddr, awvalid, wdata,
input awready,
clocking cb
);
modport slave (input awaddr, awvalid, wdata, output awready);

task automatic write(input logic [AW-1:0] a);
awaddr <= a;
awvalid <= 1'b1;
do @(posedge clk); while (!awready);
awvalid <= 1'b0;
endtask

property p_hold;
@(posedge clk) disable iff (!rst_n)
awvalid && !awready |=> awvalid;
endproperty
assert property (p_hold) else $error("awvalid dropped");
endinterface : axi_lite_if
