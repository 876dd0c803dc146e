module include_outside (
    input  wire a,
    output wire y
);
`include "outside.vh"
    assign y = a;
endmodule
