// skid.v - two-entry skid buffer for valid/ready handshakes.
`include "chip_cfg.vh"

// Skid buffer: breaks the ready path with one spare register.
module skid #(
    // Word width.
    parameter integer W = `DATA_W
) (
    // Clock.
    input  wire         clk,
    // Synchronous active-high reset.
    input  wire         rst,
    // Input handshake.
    input  wire         in_valid,
    output wire         in_ready,
    input  wire [W-1:0] in_data,
    // Output handshake.
    output wire         out_valid,
    input  wire         out_ready,
    output wire [W-1:0] out_data
);

    // Main output register and its valid flag.
    reg [W-1:0] data_q;
    reg         valid_q;
    // Spare register used while the output is stalled.
    reg [W-1:0] skid_q;
    reg         skid_valid_q;

    assign in_ready  = !skid_valid_q;
    assign out_valid = valid_q;
    assign out_data  = data_q;

    always @(posedge clk) begin
        if (rst) begin
            valid_q      <= 1'b0;
            skid_valid_q <= 1'b0;
            data_q       <= {W{1'b0}};
            skid_q       <= {W{1'b0}};
        end else if (out_ready || !valid_q) begin
            valid_q      <= in_valid || skid_valid_q;
            data_q       <= skid_valid_q ? skid_q : in_data;
            skid_valid_q <= 1'b0;
        end else if (in_valid && in_ready) begin
            skid_q       <= in_data;
            skid_valid_q <= 1'b1;
        end
    end

endmodule
