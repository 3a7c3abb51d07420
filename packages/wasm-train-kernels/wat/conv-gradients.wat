;; Convolution gradients: filter gradients of regular and depthwise
;; convolutions by direct SIMD products.
;; A fragment of one module built by scripts/build-kernels.mjs: conventions
;; (addresses, layouts, who checks shapes) in the package README.

  ;; Filter gradient of a convolution, as a matrix product reduced over output
  ;; positions, with no packing of either operand (XNNPACK's GEMM packs its
  ;; "weights" operand, which here is a fresh activation gradient every step):
  ;;   dw[i, j, c, n] = sum over b, oy, ox of xp[b, oy*sh+i, ox*sw+j, c] * dy[b, oy, ox, n]
  ;; xp is the padded input (no bounds checks); dw is HWIO, the filter's own
  ;; layout. C and N are multiples of 4. Register blocks of 4 input channels
  ;; (broadcast loads) x 8 (or 4) output channels, accumulated over one image
  ;; at a time so that image's input and gradient stay in cache.
  (func (export "conv_filter_grad")
    (param $xp i32) (param $dy i32) (param $dw i32) (param $B i32) (param $Hp i32) (param $Wp i32)
    (param $C i32) (param $OH i32) (param $OW i32) (param $N i32) (param $fh i32) (param $fw i32)
    (param $sh i32) (param $sw i32)
    (local $b i32) (local $i i32) (local $j i32) (local $c i32) (local $n i32)
    (local $xImage i32) (local $gImage i32) (local $wRow i32)
    (call $zero (local.get $dw) (i32.mul (i32.mul (i32.mul (local.get $fh) (local.get $fw)) (local.get $C)) (local.get $N)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $xImage (i32.add (local.get $xp) (i32.shl (i32.mul (i32.mul (i32.mul (local.get $b) (local.get $Hp)) (local.get $Wp)) (local.get $C)) (i32.const 2))))
      (local.set $gImage (i32.add (local.get $dy) (i32.shl (i32.mul (i32.mul (i32.mul (local.get $b) (local.get $OH)) (local.get $OW)) (local.get $N)) (i32.const 2))))
      (local.set $i (i32.const 0))
      (loop $taps_i
        (local.set $j (i32.const 0))
        (loop $taps_j
          (local.set $c (i32.const 0))
          (loop $channels
            ;; dw row (i, j, c): byte offset of dw[i, j, c, 0]
            (local.set $wRow (i32.add (local.get $dw)
              (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $fw)) (local.get $j)) (local.get $C)) (local.get $c)) (local.get $N)) (i32.const 2))))
            (local.set $n (i32.const 0))
            (loop $outputs
              (if (i32.le_s (i32.add (local.get $n) (i32.const 8)) (local.get $N))
                (then
                  (call $filter_block8
                    (i32.add (local.get $xImage) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $Wp)) (local.get $j)) (local.get $C)) (local.get $c)) (i32.const 2)))
                    (i32.add (local.get $gImage) (i32.shl (local.get $n) (i32.const 2)))
                    (i32.add (local.get $wRow) (i32.shl (local.get $n) (i32.const 2)))
                    (local.get $OH) (local.get $OW) (local.get $Wp) (local.get $C) (local.get $N) (local.get $sh) (local.get $sw))
                  (local.set $n (i32.add (local.get $n) (i32.const 8))))
                (else
                  (call $filter_block4
                    (i32.add (local.get $xImage) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $Wp)) (local.get $j)) (local.get $C)) (local.get $c)) (i32.const 2)))
                    (i32.add (local.get $gImage) (i32.shl (local.get $n) (i32.const 2)))
                    (i32.add (local.get $wRow) (i32.shl (local.get $n) (i32.const 2)))
                    (local.get $OH) (local.get $OW) (local.get $Wp) (local.get $C) (local.get $N) (local.get $sh) (local.get $sw))
                  (local.set $n (i32.add (local.get $n) (i32.const 4)))))
              (br_if $outputs (i32.lt_s (local.get $n) (local.get $N))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br_if $channels (i32.lt_s (local.get $c) (local.get $C))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $taps_j (i32.lt_s (local.get $j) (local.get $fw))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $taps_i (i32.lt_s (local.get $i) (local.get $fh))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; One image's contribution to a 4 (input channels, rows of w) x 8 (output
  ;; channels) block of the filter gradient. x points at xp[b, i, j, c] (the
  ;; tap's first input pixel), g at dy[b, 0, 0, n], w at dw[i, j, c, n].
  (func $filter_block8
    (param $x i32) (param $g i32) (param $w i32) (param $OH i32) (param $OW i32) (param $Wp i32)
    (param $C i32) (param $N i32) (param $sh i32) (param $sw i32)
    (local $oy i32) (local $ox i32) (local $xRow i32) (local $xAt i32) (local $xStep i32) (local $xRowStep i32) (local $nBytes i32)
    (local $a v128) (local $g0 v128) (local $g1 v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $nBytes (i32.shl (local.get $N) (i32.const 2)))
    (local.set $xStep (i32.shl (i32.mul (local.get $sw) (local.get $C)) (i32.const 2)))
    (local.set $xRowStep (i32.shl (i32.mul (i32.mul (local.get $sh) (local.get $Wp)) (local.get $C)) (i32.const 2)))
    (local.set $s00 (v128.load (local.get $w)))
    (local.set $s01 (v128.load offset=16 (local.get $w)))
    (local.set $s10 (v128.load (i32.add (local.get $w) (local.get $nBytes))))
    (local.set $s11 (v128.load offset=16 (i32.add (local.get $w) (local.get $nBytes))))
    (local.set $s20 (v128.load (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1)))))
    (local.set $s21 (v128.load offset=16 (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1)))))
    (local.set $s30 (v128.load (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3)))))
    (local.set $s31 (v128.load offset=16 (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3)))))
    (local.set $xRow (local.get $x))
    (local.set $oy (i32.const 0))
    (loop $rows
      (local.set $xAt (local.get $xRow))
      (local.set $ox (i32.const 0))
      (loop $cols
        (local.set $g0 (v128.load (local.get $g)))
        (local.set $g1 (v128.load offset=16 (local.get $g)))
        (local.set $a (v128.load32_splat (local.get $xAt)))
        (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $a) (local.get $g0))))
        (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $a) (local.get $g1))))
        (local.set $a (v128.load32_splat offset=4 (local.get $xAt)))
        (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (local.get $a) (local.get $g0))))
        (local.set $s11 (f32x4.add (local.get $s11) (f32x4.mul (local.get $a) (local.get $g1))))
        (local.set $a (v128.load32_splat offset=8 (local.get $xAt)))
        (local.set $s20 (f32x4.add (local.get $s20) (f32x4.mul (local.get $a) (local.get $g0))))
        (local.set $s21 (f32x4.add (local.get $s21) (f32x4.mul (local.get $a) (local.get $g1))))
        (local.set $a (v128.load32_splat offset=12 (local.get $xAt)))
        (local.set $s30 (f32x4.add (local.get $s30) (f32x4.mul (local.get $a) (local.get $g0))))
        (local.set $s31 (f32x4.add (local.get $s31) (f32x4.mul (local.get $a) (local.get $g1))))
        (local.set $xAt (i32.add (local.get $xAt) (local.get $xStep)))
        (local.set $g (i32.add (local.get $g) (local.get $nBytes)))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
      (local.set $xRow (i32.add (local.get $xRow) (local.get $xRowStep)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
    (v128.store (local.get $w) (local.get $s00))
    (v128.store offset=16 (local.get $w) (local.get $s01))
    (v128.store (i32.add (local.get $w) (local.get $nBytes)) (local.get $s10))
    (v128.store offset=16 (i32.add (local.get $w) (local.get $nBytes)) (local.get $s11))
    (v128.store (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1))) (local.get $s20))
    (v128.store offset=16 (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1))) (local.get $s21))
    (v128.store (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3))) (local.get $s30))
    (v128.store offset=16 (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3))) (local.get $s31)))

  ;; As $filter_block8, for the last 4 output channels when N is not a multiple of 8.
  (func $filter_block4
    (param $x i32) (param $g i32) (param $w i32) (param $OH i32) (param $OW i32) (param $Wp i32)
    (param $C i32) (param $N i32) (param $sh i32) (param $sw i32)
    (local $oy i32) (local $ox i32) (local $xRow i32) (local $xAt i32) (local $xStep i32) (local $xRowStep i32) (local $nBytes i32)
    (local $g0 v128) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $nBytes (i32.shl (local.get $N) (i32.const 2)))
    (local.set $xStep (i32.shl (i32.mul (local.get $sw) (local.get $C)) (i32.const 2)))
    (local.set $xRowStep (i32.shl (i32.mul (i32.mul (local.get $sh) (local.get $Wp)) (local.get $C)) (i32.const 2)))
    (local.set $s0 (v128.load (local.get $w)))
    (local.set $s1 (v128.load (i32.add (local.get $w) (local.get $nBytes))))
    (local.set $s2 (v128.load (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1)))))
    (local.set $s3 (v128.load (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3)))))
    (local.set $xRow (local.get $x))
    (local.set $oy (i32.const 0))
    (loop $rows
      (local.set $xAt (local.get $xRow))
      (local.set $ox (i32.const 0))
      (loop $cols
        (local.set $g0 (v128.load (local.get $g)))
        (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (v128.load32_splat (local.get $xAt)) (local.get $g0))))
        (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (v128.load32_splat offset=4 (local.get $xAt)) (local.get $g0))))
        (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (v128.load32_splat offset=8 (local.get $xAt)) (local.get $g0))))
        (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (v128.load32_splat offset=12 (local.get $xAt)) (local.get $g0))))
        (local.set $xAt (i32.add (local.get $xAt) (local.get $xStep)))
        (local.set $g (i32.add (local.get $g) (local.get $nBytes)))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
      (local.set $xRow (i32.add (local.get $xRow) (local.get $xRowStep)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
    (v128.store (local.get $w) (local.get $s0))
    (v128.store (i32.add (local.get $w) (local.get $nBytes)) (local.get $s1))
    (v128.store (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1))) (local.get $s2))
    (v128.store (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3))) (local.get $s3)))

  ;; conv_filter_grad for a single-channel input (a grey first layer): four
  ;; neighbouring taps of a filter row take the place of four channels, since
  ;; xp[b, y, x+j .. x+j+3] are contiguous. dwp is [fh, fwp, 1, N] with fwp a
  ;; multiple of 4 (columns from fw on are scratch); xp must have fwp - fw
  ;; extra zero columns on the right so every read stays in the row.
  (func (export "conv_filter_grad_c1")
    (param $xp i32) (param $dy i32) (param $dwp i32) (param $B i32) (param $Hp i32) (param $Wp i32)
    (param $OH i32) (param $OW i32) (param $N i32) (param $fh i32) (param $fwp i32) (param $sh i32) (param $sw i32)
    (local $b i32) (local $i i32) (local $j i32) (local $n i32)
    (local $xImage i32) (local $gImage i32) (local $wRow i32) (local $xTap i32)
    (call $zero (local.get $dwp) (i32.mul (i32.mul (local.get $fh) (local.get $fwp)) (local.get $N)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $xImage (i32.add (local.get $xp) (i32.shl (i32.mul (i32.mul (local.get $b) (local.get $Hp)) (local.get $Wp)) (i32.const 2))))
      (local.set $gImage (i32.add (local.get $dy) (i32.shl (i32.mul (i32.mul (i32.mul (local.get $b) (local.get $OH)) (local.get $OW)) (local.get $N)) (i32.const 2))))
      (local.set $i (i32.const 0))
      (loop $taps_i
        (local.set $j (i32.const 0))
        (loop $taps_j
          (local.set $xTap (i32.add (local.get $xImage) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $Wp)) (local.get $j)) (i32.const 2))))
          (local.set $wRow (i32.add (local.get $dwp) (i32.shl (i32.mul (i32.add (i32.mul (local.get $i) (local.get $fwp)) (local.get $j)) (local.get $N)) (i32.const 2))))
          (local.set $n (i32.const 0))
          (loop $outputs
            (if (i32.le_s (i32.add (local.get $n) (i32.const 8)) (local.get $N))
              (then
                (call $filter_block8 (local.get $xTap) (i32.add (local.get $gImage) (i32.shl (local.get $n) (i32.const 2)))
                  (i32.add (local.get $wRow) (i32.shl (local.get $n) (i32.const 2)))
                  (local.get $OH) (local.get $OW) (local.get $Wp) (i32.const 1) (local.get $N) (local.get $sh) (local.get $sw))
                (local.set $n (i32.add (local.get $n) (i32.const 8))))
              (else
                (call $filter_block4 (local.get $xTap) (i32.add (local.get $gImage) (i32.shl (local.get $n) (i32.const 2)))
                  (i32.add (local.get $wRow) (i32.shl (local.get $n) (i32.const 2)))
                  (local.get $OH) (local.get $OW) (local.get $Wp) (i32.const 1) (local.get $N) (local.get $sh) (local.get $sw))
                (local.set $n (i32.add (local.get $n) (i32.const 4)))))
            (br_if $outputs (i32.lt_s (local.get $n) (local.get $N))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br_if $taps_j (i32.lt_s (local.get $j) (local.get $fwp))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $taps_i (i32.lt_s (local.get $i) (local.get $fh))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; Filter gradient of a depthwise convolution with channel multiplier 1:
  ;; dw[i, j, c] = sum over b, oy, ox of xp[b, oy*sh+i, ox*sw+j, c] * dy[b, oy, ox, c],
  ;; with xp the input already padded (so no bounds checks); C a multiple of 4.
  (func (export "depthwise_filter_grad")
    (param $xp i32) (param $dy i32) (param $dw i32) (param $B i32) (param $Hp i32) (param $Wp i32)
    (param $C i32) (param $OH i32) (param $OW i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $i i32) (local $j i32) (local $k i32)
    (local $cBytes i32) (local $xAt i32) (local $wAt i32) (local $g i32)
    (call $zero (local.get $dw) (i32.mul (i32.mul (local.get $fh) (local.get $fw)) (local.get $C)))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $g (local.get $dy))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $oy (i32.const 0))
      (loop $rows
        (local.set $ox (i32.const 0))
        (loop $cols
          (local.set $i (i32.const 0))
          (loop $taps_i
            (local.set $j (i32.const 0))
            (loop $taps_j
              (local.set $xAt
                (i32.add (local.get $xp)
                  (i32.mul
                    (i32.add
                      (i32.mul (i32.add (i32.mul (local.get $b) (local.get $Hp))
                                        (i32.add (i32.mul (local.get $oy) (local.get $sh)) (local.get $i)))
                               (local.get $Wp))
                      (i32.add (i32.mul (local.get $ox) (local.get $sw)) (local.get $j)))
                    (local.get $cBytes))))
              (local.set $wAt (i32.add (local.get $dw)
                (i32.mul (i32.add (i32.mul (local.get $i) (local.get $fw)) (local.get $j)) (local.get $cBytes))))
              (local.set $k (i32.const 0))
              (loop $channels
                (v128.store (i32.add (local.get $wAt) (local.get $k))
                  (f32x4.add (v128.load (i32.add (local.get $wAt) (local.get $k)))
                             (f32x4.mul (v128.load (i32.add (local.get $xAt) (local.get $k)))
                                        (v128.load (i32.add (local.get $g) (local.get $k))))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $taps_j (i32.lt_s (local.get $j) (local.get $fw))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $taps_i (i32.lt_s (local.get $i) (local.get $fh))))
          (local.set $g (i32.add (local.get $g) (local.get $cBytes)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; depthwise_filter_grad for 3x3 filters, with the 9 taps' sums of one
  ;; channel group held in registers over an image (the general loop loads
  ;; and stores its accumulator for every product): dy is read once per
  ;; pixel for all 9 taps. The same products, added in the same order
  ;; (b, oy, ox), so the same bits.
  (func (export "depthwise_filter_grad_3x3")
    (param $xp i32) (param $dy i32) (param $dw i32) (param $B i32) (param $Hp i32) (param $Wp i32)
    (param $C i32) (param $OH i32) (param $OW i32) (param $sh i32) (param $sw i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $k i32)
    (local $cBytes i32) (local $colBytes i32) (local $colBytes2 i32) (local $rowBytes i32) (local $rowBytes2 i32)
    (local $xImage i32) (local $gImage i32) (local $at i32) (local $gAt i32) (local $wAt i32) (local $g v128)
    (local $a00 v128) (local $a01 v128) (local $a02 v128) (local $a10 v128) (local $a11 v128) (local $a12 v128) (local $a20 v128) (local $a21 v128) (local $a22 v128)
    (call $zero (local.get $dw) (i32.mul (i32.const 9) (local.get $C)))
    (if (i32.or (i32.eqz (local.get $OH)) (i32.eqz (local.get $OW))) (then (return)))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $colBytes (local.get $cBytes))
    (local.set $colBytes2 (i32.shl (local.get $cBytes) (i32.const 1)))
    (local.set $rowBytes (i32.mul (local.get $Wp) (local.get $cBytes)))
    (local.set $rowBytes2 (i32.shl (local.get $rowBytes) (i32.const 1)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $xImage (i32.add (local.get $xp) (i32.mul (i32.mul (local.get $b) (local.get $Hp)) (local.get $rowBytes))))
      (local.set $gImage (i32.add (local.get $dy) (i32.mul (i32.mul (i32.mul (local.get $b) (local.get $OH)) (local.get $OW)) (local.get $cBytes))))
      (local.set $k (i32.const 0))
      (loop $groups
        (local.set $wAt (i32.add (local.get $dw) (local.get $k)))
        (local.set $a00 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 0) (local.get $cBytes)))))
        (local.set $a01 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 1) (local.get $cBytes)))))
        (local.set $a02 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 2) (local.get $cBytes)))))
        (local.set $a10 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 3) (local.get $cBytes)))))
        (local.set $a11 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 4) (local.get $cBytes)))))
        (local.set $a12 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 5) (local.get $cBytes)))))
        (local.set $a20 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 6) (local.get $cBytes)))))
        (local.set $a21 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 7) (local.get $cBytes)))))
        (local.set $a22 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 8) (local.get $cBytes)))))
        (local.set $oy (i32.const 0))
        (loop $rows
          (local.set $at (i32.add (i32.add (local.get $xImage) (local.get $k)) (i32.mul (i32.mul (local.get $oy) (local.get $sh)) (local.get $rowBytes))))
          (local.set $gAt (i32.add (i32.add (local.get $gImage) (local.get $k)) (i32.mul (i32.mul (local.get $oy) (local.get $OW)) (local.get $cBytes))))
          (local.set $ox (i32.const 0))
          (loop $cols
            (local.set $g (v128.load (local.get $gAt)))
            (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (v128.load (local.get $at)) (local.get $g))))
            (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (v128.load (i32.add (local.get $at) (local.get $colBytes))) (local.get $g))))
            (local.set $a02 (f32x4.add (local.get $a02) (f32x4.mul (v128.load (i32.add (local.get $at) (local.get $colBytes2))) (local.get $g))))
            (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (v128.load (i32.add (local.get $at) (local.get $rowBytes))) (local.get $g))))
            (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (v128.load (i32.add (i32.add (local.get $at) (local.get $rowBytes)) (local.get $colBytes))) (local.get $g))))
            (local.set $a12 (f32x4.add (local.get $a12) (f32x4.mul (v128.load (i32.add (i32.add (local.get $at) (local.get $rowBytes)) (local.get $colBytes2))) (local.get $g))))
            (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (v128.load (i32.add (local.get $at) (local.get $rowBytes2))) (local.get $g))))
            (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (v128.load (i32.add (i32.add (local.get $at) (local.get $rowBytes2)) (local.get $colBytes))) (local.get $g))))
            (local.set $a22 (f32x4.add (local.get $a22) (f32x4.mul (v128.load (i32.add (i32.add (local.get $at) (local.get $rowBytes2)) (local.get $colBytes2))) (local.get $g))))
            (local.set $at (i32.add (local.get $at) (i32.mul (local.get $sw) (local.get $cBytes))))
            (local.set $gAt (i32.add (local.get $gAt) (local.get $cBytes)))
            (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
            (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
          (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
          (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 0) (local.get $cBytes))) (local.get $a00))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 1) (local.get $cBytes))) (local.get $a01))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 2) (local.get $cBytes))) (local.get $a02))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 3) (local.get $cBytes))) (local.get $a10))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 4) (local.get $cBytes))) (local.get $a11))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 5) (local.get $cBytes))) (local.get $a12))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 6) (local.get $cBytes))) (local.get $a20))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 7) (local.get $cBytes))) (local.get $a21))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 8) (local.get $cBytes))) (local.get $a22))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br_if $groups (i32.lt_u (local.get $k) (local.get $cBytes))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))
