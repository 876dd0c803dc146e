module comment_shift (
    input  wire a,
    output wire y
);
	wire		spare_tab; // tab-indented
	/* a comment */ wire spare_after_comment;
    assign y = a;
endmodule
