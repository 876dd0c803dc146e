// pwm.v - single-channel PWM generator used from VHDL.

// Compares a free-running counter with duty; q is high while counter < duty.
module pwm #(
    // Resolution of the duty value.
    parameter integer WIDTH = 8
) (
    // Clock.
    input  wire             clk,
    // Synchronous active-high reset.
    input  wire             rst,
    // Duty cycle, 0 = always off.
    input  wire [WIDTH-1:0] duty,
    // PWM output.
    output reg              q
);

    // Free-running period counter.
    reg [WIDTH-1:0] cnt;

    always @(posedge clk) begin
        if (rst) begin
            cnt <= {WIDTH{1'b0}};
            q   <= 1'b0;
        end else begin
            cnt <= cnt + 1'b1;
            q   <= (cnt < duty);
        end
    end

endmodule
