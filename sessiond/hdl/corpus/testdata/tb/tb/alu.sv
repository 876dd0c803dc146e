// alu.sv - the device under test: a registered ALU with valid handshake.
`timescale 1ns / 1ps

// Registered ALU; the result of an operation appears one cycle after in_valid.
module alu #(
    // Operand width.
    parameter int W = 16
) (
    // Clock.
    input  logic         clk,
    // Synchronous active-high reset.
    input  logic         rst,
    // Operands and opcode are valid.
    input  logic         in_valid,
    // Opcode: 0 add, 1 sub, 2 and, 3 xor.
    input  logic [1:0]   op,
    // First operand.
    input  logic [W-1:0] a,
    // Second operand.
    input  logic [W-1:0] b,
    // Result is valid.
    output logic         out_valid,
    // Result.
    output logic [W-1:0] y
);

    always_ff @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
            y         <= '0;
        end else begin
            out_valid <= in_valid;
            if (in_valid) begin
                case (op)
                    2'd0:    y <= a + b;
                    2'd1:    y <= a - b;
                    2'd2:    y <= a & b;
                    default: y <= a ^ b;
                endcase
            end
        end
    end

endmodule : alu
