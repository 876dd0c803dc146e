// chip.v - top of the chip; the buffer type is chosen at build time.
`include "chip_cfg.vh"

// Chip top: an input port, a configurable buffer and an output port.
// USE_FIFO selects the FIFO, USE_SKID the skid buffer, neither a register.
module chip (
    // Clock.
    input  wire              clk,
    // Synchronous active-high reset.
    input  wire              rst,
    // Input handshake.
    input  wire              in_valid,
`ifdef USE_SKID
    // Back-pressure, only when the skid buffer is built in.
    output wire              in_ready,
`endif
    input  wire [`DATA_W-1:0] in_data,
`ifdef USE_FIFO
    // FIFO level flags for the status LEDs.
    output wire              fifo_full,
    output wire              fifo_empty,
`endif
    // Output handshake.
    output wire              out_valid,
    input  wire              out_ready,
    output wire [`DATA_W-1:0] out_data
);

`ifdef USE_FIFO
    // FIFO between input and output, DEPTH from the build.
    fifo #(
        .W    (`DATA_W),
        .DEPTH(`DEPTH)
    ) u_buf (
        .clk  (clk),
        .rst  (rst),
        .wr   (in_valid),
        .wdata(in_data),
        .rd   (out_ready),
        .rdata(out_data),
        .full (fifo_full),
        .empty(fifo_empty)
    );
    assign out_valid = !fifo_empty;
`elsif USE_SKID
    // Skid buffer with full valid/ready handshake.
    skid #(
        .W(`DATA_W)
    ) u_buf (
        .clk      (clk),
        .rst      (rst),
        .in_valid (in_valid),
        .in_ready (in_ready),
        .in_data  (in_data),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data (out_data)
    );
`else
    // Plain register stage; out_ready is ignored.
    reg [`DATA_W-1:0] data_q;
    reg               valid_q;
    wire              ready_unused = out_ready;
    always @(posedge clk) begin
        if (rst) begin
            data_q  <= {`DATA_W{1'b0}};
            valid_q <= 1'b0;
        end else begin
            data_q  <= in_data;
            valid_q <= in_valid;
        end
    end
    assign out_data  = data_q;
    assign out_valid = valid_q;
`endif

`ifdef SIMULATION
    initial $display("chip: buffer is %s", `BUF_KIND);
`endif

endmodule
