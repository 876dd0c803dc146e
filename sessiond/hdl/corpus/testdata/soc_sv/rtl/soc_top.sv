// soc_top.sv - two bus masters sharing a register file.
`include "soc_macros.svh"

// SoC top: CPU and DMA request ports arbitrated onto one register file.
module soc_top
    import bus_pkg::*;
(
    // Clock.
    input  logic          clk_i,
    // Synchronous active-low reset.
    input  logic          rst_ni,
    // Request from the CPU.
    input  req_t          cpu_req_i,
    // Response to the CPU.
    output rsp_t          cpu_rsp_o,
    // Request from the DMA engine.
    input  bus_pkg::req_t dma_req_i,
    // Response to the DMA engine.
    output bus_pkg::rsp_t dma_rsp_o
);

    // Number of masters on the bus.
    localparam int unsigned NUM_M = 2;

    // Link from the arbiter to the register file.
    bus_if u_bus ();

    // Requests in master order: 0 CPU, 1 DMA.
    req_t [NUM_M-1:0] reqs;
    // Responses in master order.
    rsp_t [NUM_M-1:0] rsps;

    assign reqs      = {dma_req_i, cpu_req_i};
    assign cpu_rsp_o = rsps[0];
    assign dma_rsp_o = rsps[1];

    // Round-robin arbiter between CPU and DMA.
    arbiter #(
        .NUM_M (NUM_M),
        .POLICY(1)
    ) u_arb (
        .clk_i  (clk_i),
        .rst_ni (rst_ni),
        .m_req_i(reqs),
        .m_rsp_o(rsps),
        .s_bus  (u_bus.master)
    );

    // Register file sized from the package.
    regs #(
        .DEPTH    (bus_pkg::NUM_REGS),
        .RESET_VAL(32'hDEAD_BEEF)
    ) u_regs (
        .clk_i (clk_i),
        .rst_ni(rst_ni),
        .bus   (u_bus.slave)
    );

endmodule : soc_top
